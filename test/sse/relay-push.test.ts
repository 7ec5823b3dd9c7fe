/**
 * Issue 14 #3: a view whose `events()` returns or `yield*`s `broker.subscribe()` is served through the
 * push path (lib/sse/relay-push.ts): the subscription writes each event, encoded by the view's schema once
 * per message and route, into the stream's held frames - one socket write per turn, no Promise per event
 * per client. A `for await` relay (which may look at events) keeps the pull path. Every event in order,
 * exactly once; what leaves is what the schema declares; invalid data is an error frame.
 */
import t from 'tap'
import { Type, type Static } from '@sinclair/typebox'
import { MemoryBroker, ServerSideEventsView } from '../../lib/index.js'
import { kPushParked, kPushTarget, type PushTarget } from '../../lib/symbols.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

const Note = Type.Object({ n: Type.Integer() })
// The data schema of a relay also admits the control events' data (subscribed, reset).
const Data = Type.Union([Note, Type.Object({ topics: Type.Array(Type.String()), reason: Type.Optional(Type.String()) })])

class Delegating extends ServerSideEventsView({ data: Data, heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<Static<typeof Note>>(['push'], { signal: this.signal, lastEventId: this.lastEventId })
  }
}

class Returning extends ServerSideEventsView({ data: Data, heartbeatSeconds: 0 }) {
  events () {
    return this.app.broker.subscribe<Static<typeof Note>>(['push'], { signal: this.signal, lastEventId: this.lastEventId })
  }
}

class Looping extends ServerSideEventsView({ data: Data, heartbeatSeconds: 0 }) {
  async * events () {
    for await (const event of this.app.broker.subscribe<Static<typeof Note>>(['push'], { signal: this.signal })) yield event
  }
}

type RegisteredStream = { reply: { raw: { socket: { write: (...args: unknown[]) => boolean } } } }

function streamsOf (app: unknown): RegisteredStream[] {
  return [...(app as Record<symbol, { streams: Set<RegisteredStream> }>)[Symbol.for('fastify-views.stream-registry')].streams]
}

/** Counts the server's socket writes of every open stream from now on. */
function countWrites (app: unknown): () => number[] {
  const counts = streamsOf(app).map(() => 0)
  streamsOf(app).forEach((stream, i) => {
    const socket = stream.reply.raw.socket
    const write = socket.write.bind(socket)
    socket.write = (...args: unknown[]) => { counts[i]++; return write(...args) }
  })
  return () => counts
}

t.test('a relay by yield* or by return pushes: a burst of one turn is one socket write per stream; for await is pulled', async (t) => {
  const { app, base } = await startApp(t, { views: { '/delegating': Delegating, '/returning': Returning, '/looping': Looping } })
  const readers = [await StreamReader.open(base, '/delegating'), await StreamReader.open(base, '/returning'), await StreamReader.open(base, '/looping')]
  t.teardown(() => { for (const reader of readers) reader.close() })
  await until(() => readers.every((reader) => reader.frames.length === 1), 'subscribed on every stream')
  await new Promise((resolve) => setTimeout(resolve, 20))
  const writes = countWrites(app)
  const EVENTS = 400
  await Promise.all(Array.from({ length: EVENTS }, (_, i) => app.broker.publish('push', 'note', { n: i + 1 })))
  for (const reader of readers) await reader.waitForPublished(EVENTS)
  const [delegating, returning, looping] = writes()
  t.equal(delegating, 1, 'yield*: the burst in one write')
  t.equal(returning, 1, 'returned: the burst in one write')
  t.ok(looping > 1, `for await: pulled, in pieces (${looping} writes)`)
  for (const reader of readers) t.same(reader.published.map((frame) => JSON.parse(frame.data).n), Array.from({ length: EVENTS }, (_, i) => i + 1), 'every event, in order, once')
  t.same(readers[0].published.map((frame) => frame.id), readers[2].published.map((frame) => frame.id), 'pushed and pulled: the same cursors')
})

t.test('pushed events carry what the schema declares, framed exactly as the pull path frames them', async (t) => {
  const { app, base } = await startApp(t, { views: { '/delegating': Delegating, '/looping': Looping } })
  const pushed = await StreamReader.open(base, '/delegating')
  const pulled = await StreamReader.open(base, '/looping')
  t.teardown(() => { pushed.close(); pulled.close() })
  await until(() => pushed.frames.length === 1 && pulled.frames.length === 1, 'subscribed')
  await app.broker.publish('push', 'note', { n: 1, passwordHash: 'secret' })
  await app.broker.publish('push', 'note', { n: 2 })
  await pushed.waitForPublished(2)
  await pulled.waitForPublished(2)
  t.same(pushed.frames, pulled.frames, 'the same frames, subscribed included')
  t.same(pushed.published.map((frame) => frame.data), ['{"n":1}', '{"n":2}'])
  t.notOk(JSON.stringify([pushed.frames, pulled.frames]).includes('secret'), 'no undeclared property on the wire')
})

t.test('a pushed event the schema refuses is an error frame, and the stream ends', async (t) => {
  const { app, base } = await startApp(t, { views: { '/delegating': Delegating } })
  const reader = await StreamReader.open(base, '/delegating')
  t.teardown(() => reader.close())
  await until(() => reader.frames.length === 1, 'subscribed')
  await app.broker.publish('push', 'note', { n: 1 })
  await app.broker.publish('push', 'note', { n: 'not a number' })
  await app.broker.publish('push', 'note', { n: 3 })
  await until(() => reader.ended, 'the end of the stream')
  t.same(reader.frames.map((frame) => frame.event), ['subscribed', 'note', 'error'])
  t.equal(JSON.parse(reader.frames[2].data).status, 500)
  await until(() => streamsOf(app).length === 0, 'unregistered')
})

t.test('a pushed relay resumes exactly from its Last-Event-ID', async (t) => {
  const { app, base } = await startApp(t, { views: { '/delegating': Delegating } })
  const first = await StreamReader.open(base, '/delegating')
  await until(() => first.frames.length === 1, 'subscribed')
  for (let n = 1; n <= 3; n++) await app.broker.publish('push', 'note', { n })
  await first.waitForPublished(3)
  first.close()
  const cursor = first.published[1].id as string
  for (let n = 4; n <= 5; n++) await app.broker.publish('push', 'note', { n })
  const second = await StreamReader.open(base, '/delegating', { 'last-event-id': cursor })
  t.teardown(() => second.close())
  await second.waitForPublished(3)
  t.same(second.published.map((frame) => JSON.parse(frame.data).n), [3, 4, 5])
  t.equal(second.frames[0].event, 'subscribed')
})

t.test('a run of one turn with an event the schema refuses: the events before it, its error frame, the end', async (t) => {
  const { app, base } = await startApp(t, { views: { '/delegating': Delegating } })
  const reader = await StreamReader.open(base, '/delegating')
  t.teardown(() => reader.close())
  await until(() => reader.frames.length === 1, 'subscribed')
  // One synchronous loop: the three arrive as one run.
  for (const n of [1, 'not a number', 3]) void app.broker.publish('push', 'note', { n })
  await until(() => reader.ended, 'the end of the stream')
  t.same(reader.frames.map((frame) => frame.event), ['subscribed', 'note', 'error'])
  t.equal(reader.frames[1].data, '{"n":1}')
})

t.test('a pushing subscription answers the pump at once (kPushParked): no next() stays pending per connection', async (t) => {
  const broker = new MemoryBroker()
  t.teardown(() => broker.close())
  const pushed: unknown[] = []
  let resumed = 0
  const target: PushTarget = {
    attach: () => {},
    event: (source) => { pushed.push(source.data) },
    events: (_key, sources, from) => { pushed.push(...sources.slice(from).map((source) => source.data)) },
    control: (event) => { pushed.push(event) },
    ready: () => undefined,
    resume: () => { resumed++ }
  }
  const iterator = broker.subscribe(['parked'])
  t.equal((await iterator.next()).value?.event, 'subscribed', 'pulled until it is reached with a probe')
  // Before: this next() stayed pending for the life of the stream (a promise chain through the view's
  // generator to the pump, ~1 KB per connection); a bounded wait tells the two apart.
  const answer = await Promise.race([iterator.next({ [kPushTarget]: target } as never), new Promise((resolve) => setTimeout(() => resolve('pending'), 200))])
  t.same(answer, { value: kPushParked, done: false }, 'parked at once')
  await broker.publish('parked', 'note', { n: 1 })
  await broker.publish('parked', 'note', { n: 2 })
  await until(() => pushed.length === 2, 'both pushed')
  t.same(pushed, [{ n: 1 }, { n: 2 }], 'the events go to the target, in order, once')
  t.same(await iterator.return(), { value: undefined, done: true })
  await broker.publish('parked', 'note', { n: 3 })
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(pushed, [{ n: 1 }, { n: 2 }], 'nothing after return()')
  t.equal(resumed, 1, 'its end is told to the target once (a stream that ended ignores it; one that goes on pulls)')
})

t.test('a pushing relay: the generator is paused at its yield*, and its finally runs once, signal aborted, when the client leaves or the app closes', async (t) => {
  const log: string[] = []
  class Tracked extends ServerSideEventsView({ data: Data, heartbeatSeconds: 0 }) {
    async * events () {
      const name = String((this.query as { name?: string }).name)
      try {
        yield * this.app.broker.subscribe<Static<typeof Note>>(['push'], { signal: this.signal })
      } finally {
        log.push(`${name} finally, aborted: ${String(this.signal.aborted)}`)
      }
    }
  }
  const { app, base } = await startApp(t, { views: { '/tracked': Tracked } })
  const leaving = await StreamReader.open(base, '/tracked?name=leaving')
  const staying = await StreamReader.open(base, '/tracked?name=staying')
  await until(() => leaving.frames.length === 1 && staying.frames.length === 1, 'subscribed')
  await app.broker.publish('push', 'note', { n: 1 })
  await leaving.waitForPublished(1)
  await staying.waitForPublished(1)
  leaving.close()
  await until(() => log.length === 1, 'the leaving client\'s finally')
  t.same(log, ['leaving finally, aborted: true'])
  await app.broker.publish('push', 'note', { n: 2 })
  await staying.waitForPublished(2)
  t.same(staying.published.map((frame) => JSON.parse(frame.data).n), [1, 2], 'the other stream goes on')
  await app.close()
  await until(() => staying.ended, 'a clean end')
  t.same(log, ['leaving finally, aborted: true', 'staying finally, aborted: true'], 'once each')
  t.equal(streamsOf(app).length, 0, 'unregistered')
})

t.test('a pushing relay whose subscription has a signal of its own: when it aborts, the generator goes on after its yield*', async (t) => {
  const subscriptions = new Set<AbortController>()
  class Bounded extends ServerSideEventsView({ data: Data, heartbeatSeconds: 0 }) {
    async * events () {
      const own = new AbortController()
      subscriptions.add(own)
      yield * this.app.broker.subscribe<Static<typeof Note>>(['push'], { signal: own.signal })
      // The subscription ended but the stream did not: the view says so and ends.
      yield { event: 'note', data: { n: -1 } }
    }
  }
  const { app, base } = await startApp(t, { views: { '/bounded': Bounded } })
  const reader = await StreamReader.open(base, '/bounded')
  t.teardown(() => reader.close())
  await until(() => reader.frames.length === 1, 'subscribed')
  await app.broker.publish('push', 'note', { n: 1 })
  await reader.waitForPublished(1)
  for (const own of subscriptions) own.abort()
  // Before: the pump was parked and nobody pulled again, so the stream stayed open and silent for good.
  await until(() => reader.ended, 'the end of the stream')
  t.same(reader.frames.map((frame) => [frame.event, frame.data]), [['subscribed', '{"topics":["push"]}'], ['note', '{"n":1}'], ['note', '{"n":-1}']], 'every frame, in order, once')
  await until(() => streamsOf(app).length === 0, 'unregistered')
})

t.test('a source that ends in the moment between answering kPushParked and the pump parking: the pump still pulls again', async (t) => {
  class Racing extends ServerSideEventsView({ data: Data, heartbeatSeconds: 0 }) {
    events () {
      let calls = 0
      const source: AsyncIterator<unknown> & AsyncIterable<unknown> = {
        [Symbol.asyncIterator]: () => source,
        next: async (probe?: unknown) => {
          calls++
          if (calls === 1) return { value: { event: 'note', data: { n: 1 } }, done: false }
          const target = (probe as { [kPushTarget]?: PushTarget } | undefined)?.[kPushTarget]
          if (calls === 2 && target !== undefined) {
            target.attach(1024 * 1024)
            // The subscription ends (a failure, its own signal) before the pump has seen the answer below.
            target.resume()
            return { value: kPushParked, done: false }
          }
          return { value: undefined, done: true }
        }
      }
      return source as AsyncIterable<never>
    }
  }
  const { app, base } = await startApp(t, { views: { '/racing': Racing } })
  const reader = await StreamReader.open(base, '/racing')
  t.teardown(() => reader.close())
  // Before: the resume came while the pump was not parked yet and was lost; the stream stayed open for good.
  await until(() => reader.ended, 'the end of the stream')
  t.same(reader.frames.map((frame) => [frame.event, frame.data]), [['note', '{"n":1}']], 'the event, then a clean end')
  await until(() => streamsOf(app).length === 0, 'unregistered')
})
