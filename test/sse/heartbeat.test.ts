import t from 'tap'
import { connect as connectHttp2 } from 'node:http2'
import { setTimeout as wait } from 'node:timers/promises'
import { Type } from '@sinclair/typebox'
import { ServerSideEventsView, type SSEViewDefinition } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { listen } from '../helpers/http.js'
import { deferred, frames, openStream, openStreams } from '../helpers/sse-http.js'
import { until } from '../helpers/wait.js'

const HEARTBEAT = ': \n\n'

/** A view that sends its opening frame (`retry: 1000`, so it is no comment) and one event, then stays silent. */
function silentView (settings: Pick<SSEViewDefinition, 'heartbeatSeconds'>) {
  return class Silent extends ServerSideEventsView({ data: Type.String(), retry: 1000, ...settings }) {
    async * events () {
      yield { data: 'hello', id: 'e1' }
      await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
    }
  }
}

const OPENING = 'retry: 1000\n\nid: e1\ndata: hello\n\n'

t.test('a silent stream receives ": " comment frames, never with an id', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(silentView({ heartbeatSeconds: 0.05 }), { prefix: '/silent' }) })
  const base = await listen(app)
  const stream = await openStream(base, '/silent')
  const text = await stream.body.until(HEARTBEAT, 3)
  t.ok(text.startsWith(OPENING), 'the opening and the event come first')
  t.same(frames(text.slice(OPENING.length)), [HEARTBEAT, HEARTBEAT, HEARTBEAT], 'then heartbeats only: no id, no data, no event')
  stream.body.close()
  await until(() => openStreams(app) === 0, 'the stream is closed')
})

t.test('a stream that writes continuously gets no heartbeat between its events', async (t) => {
  // 50 times the event interval: only an event loop stalled for half a second could let a heartbeat in.
  class Busy extends ServerSideEventsView({ data: Type.Integer(), retry: 1000, heartbeatSeconds: 0.5 }) {
    async * events () {
      for (let i = 0; ; i++) {
        await wait(10, undefined, { signal: this.signal })
        yield { data: i, id: null }
      }
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Busy, { prefix: '/busy' }) })
  const base = await listen(app)
  const busy = await openStream(base, '/busy')
  // 100 events each behind a 10 ms timer: at least 1 s of streaming, two heartbeat periods.
  await busy.body.until('data: 99\n\n')
  const sent = frames(busy.body.text)
  t.same(sent.filter((frame) => frame.startsWith(':')), [], 'no comment frame among its events')
  t.same(sent.filter((frame) => !/^data: \d+\n\n$/.test(frame)), ['retry: 1000\n\n'], 'only the opening and events')
  busy.body.close()
  await until(() => openStreams(app) === 0, 'the stream is closed')
})

t.test('heartbeatSeconds: 0 sends none', async (t) => {
  const app = await buildApp(t, (router) => {
    router.registerView(silentView({ heartbeatSeconds: 0 }), { prefix: '/off' }).registerView(silentView({ heartbeatSeconds: 0.05 }), { prefix: '/on' })
  })
  const base = await listen(app)
  const off = await openStream(base, '/off')
  const on = await openStream(base, '/on')
  await off.body.until(OPENING)
  await on.body.until(HEARTBEAT, 5) // >= 0.25 s
  t.equal(off.body.text, OPENING, 'nothing after the opening and the event')
  off.body.close()
  on.body.close()
})

t.test("configureApp's heartbeatSeconds is the default; a view's definition overrides it", async (t) => {
  const Inherits = silentView({})
  const appOn = await buildApp(t, (router) => {
    router.registerView(Inherits, { prefix: '/inherits' }).registerView(silentView({ heartbeatSeconds: 0 }), { prefix: '/off' })
  }, { configure: { heartbeatSeconds: 0.05 } })
  const appOff = await buildApp(t, (router) => {
    router.registerView(Inherits, { prefix: '/inherits' }).registerView(silentView({ heartbeatSeconds: 0.05 }), { prefix: '/on' })
  }, { configure: { heartbeatSeconds: 0 } })
  const [baseOn, baseOff] = [await listen(appOn), await listen(appOff)]
  const inheritsOn = await openStream(baseOn, '/inherits')
  const overriddenOff = await openStream(baseOn, '/off')
  const inheritsOff = await openStream(baseOff, '/inherits')
  const overriddenOn = await openStream(baseOff, '/on')
  await inheritsOn.body.until(HEARTBEAT, 3)
  await overriddenOn.body.until(HEARTBEAT, 3)
  // Both clocks above ran >= 0.15 s after the two silent ones had their opening.
  await overriddenOff.body.until(OPENING)
  await inheritsOff.body.until(OPENING)
  t.equal(overriddenOff.body.text, OPENING, 'heartbeatSeconds: 0 in the view beats the app default of 0.05')
  t.equal(inheritsOff.body.text, OPENING, 'the app default of 0 applies to a view that sets none')
  t.same(frames(inheritsOn.body.text.slice(OPENING.length)).slice(0, 3), [HEARTBEAT, HEARTBEAT, HEARTBEAT], 'the app default of 0.05 applies')
  for (const stream of [inheritsOn, overriddenOff, inheritsOff, overriddenOn]) stream.body.close()

  const appDefault = await buildApp(t, (router) => { router.registerView(Inherits, { prefix: '/inherits' }) })
  t.equal((appDefault as any)[Symbol.for('fastify-views.stream-registry')].heartbeatSeconds, 15, 'without a setting, 15 s')
})

t.test('heartbeats keep a silent stream inside the connection timeout; without them it is cut', async (t) => {
  const app = await buildApp(t, (router) => {
    router.registerView(silentView({ heartbeatSeconds: 0.05 }), { prefix: '/beating' }).registerView(silentView({ heartbeatSeconds: 0 }), { prefix: '/quiet' })
  }, { fastify: { connectionTimeout: 500 } })
  const base = await listen(app)
  const beating = await openStream(base, '/beating')
  const quiet = await openStream(base, '/quiet')
  await quiet.body.done // the quiet stream's socket went idle for 500 ms and was closed
  t.equal(quiet.body.text, OPENING)
  t.ok(quiet.body.error !== undefined || quiet.body.ended, 'the quiet stream was cut')
  t.equal(beating.body.ended || beating.body.error !== undefined, false, 'the beating stream, opened at the same time, is still open')
  await beating.body.until(HEARTBEAT, 20) // >= 1 s, well past the timeout
  t.equal(beating.body.error, undefined)
  beating.body.close()
})

t.test('heartbeats flow over HTTP/2', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(silentView({ heartbeatSeconds: 0.05 }), { prefix: '/silent' }) }, { fastify: { http2: true } as any })
  const base = await listen(app)
  const client = connectHttp2(base)
  t.teardown(() => client.close())
  const request = client.request({ ':path': '/silent' })
  request.setEncoding('utf8')
  let text = ''
  const three = deferred()
  request.on('data', (chunk: string) => {
    text += chunk
    if (text.split(HEARTBEAT).length - 1 >= 3) three.resolve()
  })
  await three.promise
  t.same(frames(text).slice(0, 5), ['retry: 1000\n\n', 'id: e1\ndata: hello\n\n', HEARTBEAT, HEARTBEAT, HEARTBEAT])
  request.close()
})
