import t from 'tap'
import { setTimeout as wait } from 'node:timers/promises'
import { Type } from '@sinclair/typebox'
import { ForbiddenError, ServerSideEventsView, sseRoute, UnauthorizedError, type ViewClass } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import type { TestContext } from '../helpers/context.js'
import { http, listen } from '../helpers/http.js'
import { deferred, LogCapture, openStream, openStreams, rawRequest, sleep } from '../helpers/sse-http.js'
import { until } from '../helpers/wait.js'

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8'
const CLIENT_CLOSED = 'event stream closed by the client'

t.test('an onRequest auth hook answers 401/403 with a problem document before any byte of the stream', async (t) => {
  let started = 0
  class Private extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      started++
      yield { data: 'secret', id: null }
    }
  }
  const app = await buildApp(t, (router, app) => {
    app.addHook('onRequest', async (request) => {
      const auth = request.headers.authorization
      if (auth === undefined) throw new UnauthorizedError('sign in first', { headers: { 'www-authenticate': 'Bearer' } })
      if (auth !== 'Bearer good') throw new ForbiddenError('this token may not read the stream')
    })
    router.registerView(Private, { prefix: '/private' })
  })
  const base = await listen(app)

  // A raw socket sees the whole answer: the problem's status line comes first, no stream byte before it.
  const raw = await rawRequest(base, '/private', { read: true, headers: { connection: 'close' } })
  await raw.closed
  t.match(raw.received(), /^HTTP\/1\.1 401 Unauthorized\r\n/)
  t.notMatch(raw.received(), /text\/event-stream|\r\n\r\n: /)

  let res = await http(base, 'GET', '/private')
  t.same([res.status, res.headers['content-type'], res.headers['www-authenticate'], res.headers['cache-control']], [401, PROBLEM_TYPE, 'Bearer', undefined])
  t.same(res.json(), { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'sign in first', instance: '/private', code: 'FVIEWS_HTTP_UNAUTHORIZED' })
  res = await http(base, 'GET', '/private', { headers: { authorization: 'Bearer bad' } })
  t.same([res.status, res.headers['content-type']], [403, PROBLEM_TYPE])
  t.same(res.json(), { type: 'about:blank', title: 'Forbidden', status: 403, detail: 'this token may not read the stream', instance: '/private', code: 'FVIEWS_HTTP_FORBIDDEN' })
  t.equal(started, 0, 'the generator never ran for a refused request')
  res = await http(base, 'GET', '/private', { headers: { authorization: 'Bearer good' } })
  t.same([res.status, res.text], [200, ': \n\ndata: secret\n\n'])
  t.equal(openStreams(app), 0)
})

t.test('CORS headers set by configureApp({ cors: true }) are on the stream', async (t) => {
  class Public extends ServerSideEventsView({ data: Type.Integer() }) {
    async * events () { yield { data: 1, id: 'x' } }
  }
  const app = await buildApp(t, (router) => { router.registerView(Public, { prefix: '/public' }) }, { configure: { cors: true } })
  const base = await listen(app)
  const res = await http(base, 'GET', '/public', { headers: { origin: 'http://client.example' } })
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(res.headers['access-control-allow-origin'], 'http://client.example')
  t.equal(res.headers.vary, 'Origin')
  t.equal(res.text, ': \n\nid: x\ndata: 1\n\n')
})

t.test('headers set by hooks before the handler reach the client; onSend hooks do not run for a stream', async (t) => {
  class Hooked extends ServerSideEventsView({ data: Type.Integer() }) {
    async * events () { yield { data: 1, id: 'x' } }
  }
  const payloads: string[] = []
  const app = await buildApp(t, (router, app) => {
    app.addHook('preHandler', async (request, reply) => { reply.header('x-pre-handler', 'seen') })
    // A stream has no single payload to hand to onSend (and what onSend would do to it - compress - is
    // wrong): the README documents that these hooks do not run for event streams.
    app.addHook('onSend', async (request, reply, payload) => {
      payloads.push(typeof payload)
      return payload
    })
    router.registerView(Hooked, { prefix: '/hooked' })
  })
  const base = await listen(app)
  const res = await http(base, 'GET', '/hooked')
  t.same([res.status, res.headers['x-pre-handler'], res.text], [200, 'seen', ': \n\nid: x\ndata: 1\n\n'])
  t.same(payloads, [])
})

t.test('onResponse runs once when a stream ends normally', async (t) => {
  class Finite extends ServerSideEventsView({ data: Type.Integer() }) {
    async * events () { for (let i = 0; i < 3; i++) yield { data: i, id: i } }
  }
  const seen: Array<{ url: string, status: number }> = []
  const next = { done: deferred() }
  const app = await buildApp(t, (router, app) => {
    app.addHook('onResponse', async (request, reply) => {
      seen.push({ url: request.url, status: reply.statusCode })
      next.done.resolve()
    })
    router.registerView(Finite, { prefix: '/finite' })
  })
  const base = await listen(app)
  const res = await http(base, 'GET', '/finite')
  t.equal(res.text, ': \n\nid: 0\ndata: 0\n\nid: 1\ndata: 1\n\nid: 2\ndata: 2\n\n')
  await next.done.promise
  next.done = deferred()
  // Another request through the same hook: by its onResponse, the stream's hook would have run twice if it ever did.
  await http(base, 'GET', '/finite?again=1')
  await next.done.promise
  t.same(seen, [{ url: '/finite', status: 200 }, { url: '/finite?again=1', status: 200 }])
})

/** An app whose log lines are kept, with one stream route built by `view`. */
async function loggedApp (t: TestContext, view: ViewClass, prefix: string) {
  const logs = new LogCapture()
  const app = await buildApp(t, (router) => { router.registerView(view, { prefix }) }, { fastify: { logger: { level: 'info', stream: logs } } })
  const base = await listen(app)
  return { app, base, logs }
}

t.test('a client that leaves is logged with the route; the generator stops and the stream is unregistered', async (t) => {
  const finished = deferred<boolean>()
  class Ticker extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      try {
        yield { data: 'first', id: '1' }
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      } finally {
        finished.resolve(this.signal.aborted)
      }
    }
  }
  const { app, base, logs } = await loggedApp(t, Ticker, '/ticker')
  const stream = await openStream(base, '/ticker')
  await stream.body.until('data: first\n\n')
  t.equal(openStreams(app), 1)
  stream.body.close()
  const line = await logs.waitFor((line) => line.msg === CLIENT_CLOSED)
  t.same([line.level, line.route], [30, '/ticker'])
  t.equal(typeof line.reqId, 'string', 'with the request id')
  t.equal(await finished.promise, true, 'finally ran with the signal aborted')
  t.equal(openStreams(app), 0)
  t.same(logs.matching((line) => line.level >= 50), [], 'nothing logged as an error')
})

t.test('disconnect while the generator awaits a long setTimeout with this.signal: finally runs at once', async (t) => {
  const inFinally = deferred<{ aborted: boolean, reason: unknown }>()
  let afterWait = false
  class Sleeper extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      try {
        yield { data: 'going to sleep', id: null }
        await wait(3_600_000, undefined, { signal: this.signal })
        afterWait = true
        yield { data: 'woke up', id: null }
      } finally {
        inFinally.resolve({ aborted: this.signal.aborted, reason: this.signal.reason })
      }
    }
  }
  const { app, base, logs } = await loggedApp(t, Sleeper, '/sleeper')
  const stream = await openStream(base, '/sleeper')
  t.equal(await stream.body.until('\n\n', 2), ': \n\ndata: going to sleep\n\n')
  stream.body.close()
  // The hour-long timer cannot have fired: only the aborted signal can have woken the generator.
  t.same(await inFinally.promise, { aborted: true, reason: 'client' })
  t.equal(afterWait, false)
  await logs.waitFor((line) => line.msg === CLIENT_CLOSED)
  t.equal(openStreams(app), 0)
  t.same(logs.matching((line) => line.level >= 50), [], 'the AbortError is not logged as a stream failure')
})

t.test('disconnect while the generator is idle on a source that ignores the signal: it stops at its next yield', async (t) => {
  const source = deferred<string>()
  const inFinally = deferred<boolean>()
  const encoded: string[] = []
  class Idle extends ServerSideEventsView({ data: Type.String() }) {
    eventId (event: { data: string }) { encoded.push(event.data); return undefined }
    async * events () {
      try {
        yield { data: 'hello' }
        yield { data: await source.promise } // a wait that knows nothing of this.signal
        yield { data: 'never' }
      } finally {
        inFinally.resolve(this.signal.aborted)
      }
    }
  }
  const { app, base, logs } = await loggedApp(t, Idle, '/idle')
  const stream = await openStream(base, '/idle')
  await stream.body.until('data: hello\n\n')
  stream.body.close()
  await logs.waitFor((line) => line.msg === CLIENT_CLOSED)
  t.equal(openStreams(app), 0, 'unregistered at once, though the generator is still waiting')
  source.resolve('late')
  t.equal(await inFinally.promise, true, 'finally ran when the generator reached its next yield')
  t.same(encoded, ['hello'], 'the late event was neither encoded nor sent, and the generator did not go on')
})

t.test('a client that stops reading leaves the generator paused at a yield (bounded and stable); leaving runs its finally', async (t) => {
  const chunk = 'x'.repeat(64 * 1024)
  let yielded = 0
  const inFinally = deferred<boolean>()
  class Firehose extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      try {
        while (true) {
          yield { data: chunk, id: null }
          yielded++
        }
      } finally {
        inFinally.resolve(this.signal.aborted)
      }
    }
  }
  const { app, base } = await loggedApp(t, Firehose, '/firehose')
  const client = await rawRequest(base, '/firehose') // connects, sends the request, never reads
  // Wait until the whole chain is backpressured: the response wants a drain and the generator has not
  // advanced over many turns of the event loop.
  const streams: Set<any> = (app as any)[Symbol.for('fastify-views.stream-registry')].streams
  let last = -1
  let stablePolls = 0
  await until(() => {
    if (yielded !== last) { last = yielded; stablePolls = 0 } else stablePolls++
    const [stream] = streams
    return stream !== undefined && stream.reply.raw.writableNeedDrain === true && stablePolls >= 50
  }, 'the generator stopped advancing', 60_000)
  const paused = yielded
  await sleep(300)
  t.equal(yielded, paused, 'still paused: the count did not move while the client did not read')
  // A never-reading client can only hold the kernel's socket buffers plus the streams' high-water marks.
  t.ok(paused < 512, `bounded: ${paused} events of 64 KB (${(paused / 16).toFixed(1)} MB) were produced for a client that read nothing`)
  t.equal(openStreams(app), 1)
  client.socket.destroy()
  t.equal(await inFinally.promise, true, 'finally ran with the signal aborted')
  t.equal(yielded, paused, 'nothing more was produced')
  await until(() => openStreams(app) === 0, 'the stream is unregistered')
})

t.test('a client that leaves before the stream starts leaves nothing registered and nothing running', async (t) => {
  const entered = deferred()
  const produced = deferred()
  let ran = false
  class Prepared extends ServerSideEventsView({ data: Type.String() }) {
    async * events () { yield { data: 'unused', id: null } }

    @sseRoute('/prepared', { data: Type.String() })
    async prepared () {
      entered.resolve()
      // The pre-stream step outlives the client: it ends only once the connection has closed.
      await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      produced.resolve()
      return (async function * () { ran = true; yield { data: 'too late', id: null } })()
    }
  }
  const { app, base } = await loggedApp(t, Prepared, '/p')
  const client = await rawRequest(base, '/p/prepared')
  await entered.promise
  client.socket.destroy()
  await produced.promise
  await new Promise((resolve) => setImmediate(resolve)) // the handler opens (or drops) the stream right after produce
  t.equal(openStreams(app), 0, 'the stream that never started is not left in the registry')
  t.equal(ran, false, 'the generator never ran')
})
