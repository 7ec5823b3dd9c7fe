/**
 * fastify-views/testing (issue 13): openEventStream on an app that does not listen (a loopback server of the
 * helper's own, closed with the stream) and on one that does (its own server, left open); every event, in
 * order, exactly once, with the exact bytes; the errors of a timeout, of an ended stream, of an answer that is
 * not a stream and of data that is not JSON say what was awaited and what arrived.
 */
import t from 'tap'
import { connect } from 'node:net'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { fastifyViews, MemoryBroker, ServerSideEventsView, subscribeToEvents, ViewRouter } from '../../lib/index.js'
import { openEventStream, type EventsOf, type TopicStreamEvents } from '../../lib/testing/index.js'
import type { TestContext } from '../helpers/context.js'

async function topicApp (t: TestContext) {
  const broker = new MemoryBroker()
  const app = Fastify({ logger: false })
  t.teardown(async () => { await app.close(); await broker.close() })
  await app.register(fastifyViews, { broker, openapi: false })
  app.get('/events', subscribeToEvents({ heartbeatSeconds: 0 }))
  return { app, broker }
}

/** Whether something accepts connections at the port (the helper's own server is gone once closed). */
function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

t.test('an app that does not listen: every event, in order, exactly once; close() closes the helper\'s server', async (t) => {
  const { app, broker } = await topicApp(t)
  const stream = await openEventStream<TopicStreamEvents<{ x: { i: number } }>>(app, '/events?topic=a,b')
  t.equal(app.server.listening, false, 'the app itself still does not listen')
  t.equal(stream.status, 200)
  t.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8')
  const subscribed = await stream.next('subscribed')
  t.same(subscribed.data, { topics: ['a', 'b'] })
  for (let i = 0; i < 50; i++) await broker.publish(i % 2 === 0 ? 'a' : 'b', 'x', { i })
  const events = await stream.take(50)
  t.same(events.map((event) => [event.event, event.data]), Array.from({ length: 50 }, (_, i) => ['x', { i }]))
  t.equal(stream.events.length, 51, 'nothing twice')
  t.ok(events.every((event) => event.id !== undefined && event.id === event.lastEventId), 'each carries its cursor')
  const frames = stream.text.split(/(?<=\n\n)/).filter((frame) => frame !== '')
  t.same([frames.length, frames[0], stream.comments], [52, ': \n\n', ['']], 'the opening comment, then the events')
  t.match(frames[2], /^id: [^\n]+\nevent: x\ndata: \{"i":0\}\n\n$/, 'the raw bytes, exactly')
  t.equal(stream.bytes.toString('utf8'), stream.text)
  await stream.close()
  t.equal(stream.ended, true)
  await stream.close() // twice is fine
})

t.test('the helper\'s own server: found by the address the stream came from, and refused once closed', async (t) => {
  const { app } = await topicApp(t)
  let seenPort = 0
  app.addHook('onRequest', async (request) => { seenPort = request.socket.localPort ?? 0 })
  const stream = await openEventStream(app, '/events?topic=a')
  await stream.next()
  t.ok(seenPort > 0)
  t.equal(await accepts(seenPort), true, 'listening while the stream is open')
  await stream.close()
  t.equal(await accepts(seenPort), false, 'closed with the stream')
})

t.test('an app that listens: its own server is used and left open', async (t) => {
  const { app, broker } = await topicApp(t)
  let seenPort = 0
  app.addHook('onRequest', async (request) => { seenPort = request.socket.localPort ?? 0 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const stream = await openEventStream(app, '/events?topic=a')
  await stream.next('subscribed')
  t.equal(seenPort, port)
  await broker.publish('a', 'x', { n: 1 })
  t.same((await stream.next()).data, { n: 1 })
  await stream.close()
  t.equal(await accepts(port), true, 'the app still listens')
})

t.test('a timeout names what was awaited and what arrived', async (t) => {
  const { app } = await topicApp(t)
  const stream = await openEventStream(app, '/events?topic=quiet')
  t.teardown(() => stream.close())
  await stream.next('subscribed')
  const error = await stream.take(2, { timeoutMs: 50 }).then(() => undefined, (rejected: Error) => rejected)
  t.equal(error?.message.replace(/nid: [^\\]+\\n/, 'nid: <cursor>\\n'),
    'openEventStream: GET /events?topic=quiet: timed out after 50 ms awaiting 2 more event(s) (#2 to #3); ' +
    '1 event(s) received [subscribed], 1 read; 1 comment(s); the stream is open; the last bytes: ' +
    '": \\n\\nid: <cursor>\\nevent: subscribed\\ndata: {\\"topics\\":[\\"quiet\\"]}\\n\\n"')
  // Nothing was consumed by the failed wait.
  const late = stream.next({ timeoutMs: 50 })
  await t.rejects(late, /awaiting the next event \(#2\)/)
})

t.test('a stream the server ends: the wait fails at once, saying so', async (t) => {
  const { app } = await topicApp(t)
  const stream = await openEventStream(app, '/events?topic=a')
  await stream.next()
  const waiting = stream.next('x', { timeoutMs: 60_000 })
  await app.close() // drains the open streams
  await t.rejects(waiting, { message: /^openEventStream: GET \/events\?topic=a: the stream ended while awaiting the next 'x' event \(#2 or later\); 1 event\(s\) received \[subscribed\], 1 read; 1 comment\(s\); the stream has ended; the last bytes: ": \\n\\nid: / })
  t.equal(stream.ended, true)
  await stream.close()
})

t.test('an answer that is not a stream: status, headers and body; next() says what came instead', async (t) => {
  const { app } = await topicApp(t)
  const stream = await openEventStream(app, '/events?topic=%zz')
  t.equal(stream.status, 400)
  t.equal(stream.headers['content-type'], 'application/problem+json; charset=utf-8')
  const body = JSON.parse(await stream.body())
  t.equal(body.status, 400)
  await t.rejects(stream.next(), { message: /^openEventStream: GET \/events\?topic=%zz answered 400 application\/problem\+json; charset=utf-8, not an event stream, while awaiting the next event \(#1\): "\{/ })
  await stream.close()
})

t.test('a view\'s events, typed from the view; data that is not JSON fails unless read as text', async (t) => {
  const Tick = { events: { tick: Type.Integer(), note: Type.Object({ text: Type.String() }) }, heartbeatSeconds: 0 } as const
  class Ticks extends ServerSideEventsView(Tick) {
    override async * events () {
      yield this.event('tick', 1, { id: 7 })
      yield this.event('note', { text: 'multi\nline' })
      yield { event: 'tick', data: 2, id: null, retry: 1500 }
    }
  }
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(fastifyViews, { openapi: false })
  await app.register(new ViewRouter().registerView(Ticks, { prefix: '/ticks' }).plugin)

  const stream = await openEventStream<EventsOf<typeof Ticks>>(app, '/ticks')
  const first = await stream.next()
  t.same([first.event, first.data, first.id, first.lastEventId], ['tick', 1, '7', '7'])
  const note = await stream.next('note')
  t.same([note.data, note.text], [{ text: 'multi\nline' }, '{"text":"multi\\nline"}'], 'JSON with an escaped line break')
  const last = await stream.next('tick')
  t.same([last.data, last.id, last.lastEventId, last.retry, stream.retry], [2, undefined, note.lastEventId, 1500, 1500])
  t.equal(await stream.body(), stream.text, 'the view ends the stream')
  await stream.close()
})

t.test('data that is not JSON (a string schema sends the string): a clear error, or the text with { data: \'text\' }', async (t) => {
  class Lines extends ServerSideEventsView({ data: Type.String(), events: ['line'], heartbeatSeconds: 0 }) {
    override async * events () { yield { event: 'line' as const, data: 'plain\nwords' } }
  }
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(fastifyViews, { openapi: false })
  await app.register(new ViewRouter().registerView(Lines, { prefix: '/lines' }).plugin)
  const json = await openEventStream(app, '/lines')
  await t.rejects(json.next(), { message: "openEventStream: GET /lines: event #1 'line' has data that is not JSON: \"plain\\nwords\" (open the stream with { data: 'text' } to read it as text)" })
  await json.close()
  const text = await openEventStream<EventsOf<typeof Lines>>(app, '/lines', { data: 'text' })
  const line = await text.next()
  t.same([line.event, line.data, line.text], ['line', 'plain\nwords', 'plain\nwords'], 'two data lines, joined by a line feed')
  t.match(text.text, /event: line\ndata: plain\ndata: words\n\n/)
  await text.close()
})

t.test('headers and lastEventId are sent; a resume from a cursor replays exactly the missed events', async (t) => {
  const { app, broker } = await topicApp(t)
  const sent: Array<[unknown, unknown, unknown]> = []
  app.addHook('onRequest', async (request) => { sent.push([request.headers['x-test'], request.headers.accept, request.headers['last-event-id']]) })
  const first = await openEventStream<TopicStreamEvents<{ x: { i: number } }>>(app, '/events?topic=a', { headers: { 'x-test': '1' } })
  await first.next('subscribed')
  await broker.publish('a', 'x', { i: 1 })
  const seen = await first.next('x')
  await first.close()
  await broker.publish('a', 'x', { i: 2 })
  await broker.publish('a', 'x', { i: 3 })
  const resumed = await openEventStream<TopicStreamEvents<{ x: { i: number } }>>(app, '/events?topic=a', { lastEventId: seen.lastEventId })
  t.teardown(() => resumed.close())
  const events = await resumed.take(3)
  t.same(events.map((event) => [event.event, event.event === 'x' ? event.data.i : null]), [['subscribed', null], ['x', 2], ['x', 3]], 'live from the cursor: the missed events, nothing before')
  await broker.publish('a', 'x', { i: 4 })
  t.same((await resumed.next()).data, { i: 4 })
  t.equal(resumed.events.length, 4, 'nothing twice')
  t.same(sent, [['1', 'text/event-stream', undefined], [undefined, 'text/event-stream', seen.lastEventId]])
})

t.test('argument errors', async (t) => {
  const { app } = await topicApp(t)
  await t.rejects(openEventStream(app, 'events'), { name: 'TypeError', message: "openEventStream: the path must start with '/', got \"events\"" })
  const stream = await openEventStream(app, '/events?topic=a')
  t.teardown(() => stream.close())
  // A count that is not a whole number of events >= 1 is refused at the call, naming the argument.
  for (const [count, shown] of [[1.5, '1.5'], [0, '0'], [-1, '-1'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['3', '"3"'], [undefined, 'undefined']] as const) {
    await t.rejects(stream.take(count as number), {
      name: 'TypeError',
      message: `openEventStream: take(count): 'count' is how many events to wait for, a whole number >= 1 (e.g. take(3)); got ${shown}`
    }, `take(${shown})`)
  }
  await stream.next('subscribed')
  t.equal(stream.events.length, 1, 'a refused take() read nothing')
})
