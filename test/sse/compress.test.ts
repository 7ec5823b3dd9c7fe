import t from 'tap'
import { gunzipSync } from 'node:zlib'
import compress from '@fastify/compress'
import { Type } from '@sinclair/typebox'
import { request } from 'undici'
import { APIView, ServerSideEventsView } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { listen } from '../helpers/http.js'
import { deferred, openStream } from '../helpers/sse-http.js'

t.test('a global @fastify/compress matching every type neither compresses nor buffers a stream', async (t) => {
  const release = deferred()
  let finished = false
  class Live extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      yield { data: 'first', id: '1' }
      await release.promise
      yield { data: 'second', id: '2' }
      finished = true
    }
  }
  class Json extends APIView({ get: {} }) {
    get () { return { text: 'compress me '.repeat(20) } }
  }
  const app = await buildApp(t, async (router, app) => {
    await app.register(compress, { global: true, threshold: 0, customTypes: /.*/ })
    router.registerView(Live, { prefix: '/live' }).registerView(Json, { prefix: '/json' })
  })
  const base = await listen(app)

  // The same app does compress an ordinary answer: the plugin is active.
  const json = await request(`${base}/json`, { headers: { 'accept-encoding': 'gzip' } })
  t.equal(json.headers['content-encoding'], 'gzip')
  t.same(JSON.parse(gunzipSync(Buffer.from(await json.body.arrayBuffer())).toString('utf8')), { text: 'compress me '.repeat(20) })

  const stream = await openStream(base, '/live', { 'accept-encoding': 'gzip' })
  t.equal(stream.status, 200)
  t.equal(stream.headers['content-encoding'], undefined, 'not compressed')
  t.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(await stream.body.until('data: first\n\n'), ': \n\nid: 1\ndata: first\n\n', 'plain text, as it is produced')
  t.equal(finished, false, 'the first event arrived while the generator was still waiting')
  release.resolve()
  t.equal(await stream.body.all(), ': \n\nid: 1\ndata: first\n\nid: 2\ndata: second\n\n')
  t.equal(finished, true)
})
