/**
 * The pull path of a relay: a view whose `events()` loops `for await` over `broker.subscribe()` and yields
 * each event (it may look at or change it), so its stream pulls the generator only when the response has
 * room and the subscription queues what arrives meanwhile. An outside review found two faults there that the
 * push paths (`yield*`, SubscriptionView) did not have:
 *
 * 1. a reader that stopped after a burst, on a topic that then fell quiet, was never closed: the queue was
 *    checked only when the next event arrived, and the heartbeat sweep looked at the socket alone (7-10 MB
 *    held against a 1 MiB budget). It is now closed within a heartbeat interval and resumes exactly;
 * 2. under sustained bursts a reader at full speed was closed as slow: the subscription counted its whole
 *    queue from earlier turns, though the stream had not pulled it because the pump itself takes one piece
 *    per turn, not because the client was behind. Now only what waits for the client counts, as on the push
 *    path (EventStream.openBatch).
 *
 * Memory broker and Redis, real sockets, every event once and in order.
 */
import t from 'tap'
import { Type, type Static } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { startRedis } from '../helpers/redis-server.js'
import { LogCapture, openStreams } from '../helpers/sse-http.js'
import { describe, noteKeys, notesOf } from '../helpers/ledger.js'
import { RawStreamReader } from '../helpers/raw-stream-reader.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

const redis = await startRedis({ t })
const SLOW = 'event stream closed: the client reads too slowly'
const Note = Type.Object({ topic: Type.String(), n: Type.Integer(), pad: Type.String() }, { additionalProperties: false })
const Subscribed = Type.Object({ topics: Type.Array(Type.String()) }, { additionalProperties: false })

/** A pull-path relay of topic `t` with `budget` bytes and a heartbeat of half a second. */
function pullRelay (budget: number) {
  return class PullRelay extends ServerSideEventsView({ data: Type.Union([Note, Subscribed]), heartbeatSeconds: 0.5 }) {
    async * events () {
      const events = this.app.broker.subscribe<Static<typeof Note>>(['t'], { signal: this.signal, lastEventId: this.lastEventId, budgetBytes: budget })
      for await (const event of events) yield { event: event.event, data: event.data, id: event.id }
    }
  }
}

/** The same relay through `yield*`: the push path, the reference behaviour. */
function pushRelay (budget: number) {
  return class PushRelay extends ServerSideEventsView({ data: Type.Union([Note, Subscribed]), heartbeatSeconds: 0.5 }) {
    async * events () {
      yield * this.app.broker.subscribe<Static<typeof Note>>(['t'], { signal: this.signal, lastEventId: this.lastEventId, budgetBytes: budget })
    }
  }
}

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: a pull-path reader stalled after a one-turn burst on a topic that falls quiet is closed within a heartbeat, and resumes exactly`, async (t) => {
    const BUDGET = 64 * 1024
    const PAD = 'x'.repeat(200)
    const logs = new LogCapture()
    const { app, base } = await startApp(t, {
      redisUrl: backend === 'redis' ? redis.url : undefined,
      views: { '/relay': pullRelay(BUDGET) },
      app: { historySize: 50_000, publishTimeoutMs: 60_000, fastify: { logger: { level: 'warn', stream: logs } } }
    })
    // Subscribed (on Redis, once the subscription listens: events before it are not this client's), then it
    // stops reading: the kernel's buffers fill, then the server meets real backpressure.
    const stalled = await RawStreamReader.open(base, '/relay')
    t.teardown(() => stalled.close())
    await until(() => stalled.frames.length === 1, 'subscribed')
    stalled.pause()
    const count = 20_000 // ~5 MB: far more than loopback's socket buffers and the budget together
    await Promise.all(Array.from({ length: count }, (_, i) => app.broker.publish('t', 'note', { topic: 't', n: i + 1, pad: PAD })))
    // No event follows: on the memory broker, where the burst arrived in one turn, only the heartbeat sweep
    // can find it; on Redis, whose subscriber hands it over in many turns, a later piece of it may.
    await until(() => openStreams(app) === 0, 'the stalled stream is closed', 10_000)
    const closed = logs.matching((line) => line.msg === SLOW)
    t.equal(closed.length, 1, 'closed as slow, once')
    t.equal(closed[0].budgetBytes, BUDGET, 'against the relay\'s budget')
    t.ok((closed[0].queuedBytes as number) > BUDGET, `what it held then was counted: ${String(closed[0].queuedBytes)} bytes queued`)
    await until(() => app.broker.subscriberCount('t') === 0, 'its subscription is released')
    t.same(logs.matching((line) => line.msg === 'event stream failed'), [], 'no error frame was attempted')

    // It reads what reached it before the close, up to the FIN, and resumes with the last id it received.
    stalled.resume()
    await stalled.done
    const frames = stalled.frames
    const received = notesOf(frames)
    t.same(received, Array.from({ length: received.length }, (_, i) => ({ topic: 't', n: i + 1 })), 'what it got is the start, in order')
    t.ok(received.length > 0 && received.length < count, `it had received ${received.length} of ${count} events`)
    const resumed = await StreamReader.open(base, '/relay', { 'last-event-id': frames[frames.length - 1].id as string })
    t.teardown(() => resumed.close())
    await resumed.waitForPublished(count - received.length, 'missed events', 30_000)
    t.same(describe(resumed.frames), ['subscribed {"topics":["t"]}', ...noteKeys(Array.from({ length: count - received.length }, (_, i) => ({ topic: 't', n: received.length + i + 1 })))], 'exactly the missed events')
  })

  for (const path of ['pull (for await)', 'push (yield*)'] as const) {
    t.test(`${backend}, ${path}: readers at full speed under sustained bursts are never closed`, async (t) => {
      const BUDGET = 256 * 1024
      const PAD = 'x'.repeat(120) // ~200 B a frame
      const BURSTS = 24
      const SIZE = 1_000 // ~200 KB a burst: several pieces of the pull loop, less than the budget
      const READERS = 3
      const logs = new LogCapture()
      const { app, base } = await startApp(t, {
        redisUrl: backend === 'redis' ? redis.url : undefined,
        views: { '/relay': path === 'push (yield*)' ? pushRelay(BUDGET) : pullRelay(BUDGET) },
        app: { historySize: 50_000, publishTimeoutMs: 60_000, fastify: { logger: { level: 'warn', stream: logs } } }
      })
      const readers = await Promise.all(Array.from({ length: READERS }, () => StreamReader.open(base, '/relay')))
      t.teardown(() => readers.forEach((reader) => reader.close()))
      await until(() => app.broker.subscriberCount('t') === READERS, 'every reader subscribed')
      await until(() => readers.every((reader) => reader.frames.length === 1), 'the readers are subscribed')
      // Burst after burst, each published with Promise.all as soon as the readers have all but the last two:
      // what waits from earlier turns is at most two bursts, one more than the budget covers - the last
      // batch, which a reader that keeps up is still taking, is not held against it (as on the push path).
      let published = 0
      for (let b = 0; b < BURSTS; b++) {
        if (b >= 3) for (const reader of readers) await reader.waitForPublished((b - 2) * SIZE, `burst ${b - 3}`, 60_000)
        const first = published
        published += SIZE
        await Promise.all(Array.from({ length: SIZE }, (_, i) => app.broker.publish('t', 'note', { topic: 't', n: first + i + 1, pad: PAD })))
      }
      const expected = ['subscribed {"topics":["t"]}', ...noteKeys(Array.from({ length: published }, (_, i) => ({ topic: 't', n: i + 1 })))]
      for (const reader of readers) {
        await reader.waitForPublished(published, 'every burst', 60_000)
        t.same(describe(reader.frames), expected, 'every event, once, in order')
        t.equal(reader.ended, false, 'the stream is still open')
      }
      t.same(logs.matching((line) => line.msg === SLOW || line.msg === 'event stream failed'), [], 'no stream was closed or failed')
    })

    t.test(`${backend}, ${path}: a relay fed more than one piece of the pull loop every turn keeps up with a reader at full speed`, async (t) => {
      const BUDGET = 64 * 1024
      const PAD = 'x'.repeat(120) // ~200 B a frame
      const BURSTS = 150
      const SIZE = 120 // ~24 KB a turn: more than the pull loop's 16 KiB piece, far less than the budget
      const logs = new LogCapture()
      const { app, base } = await startApp(t, {
        redisUrl: backend === 'redis' ? redis.url : undefined,
        views: { '/relay': path === 'push (yield*)' ? pushRelay(BUDGET) : pullRelay(BUDGET) },
        app: { historySize: 50_000, publishTimeoutMs: 60_000, fastify: { logger: { level: 'warn', stream: logs } } }
      })
      const reader = await StreamReader.open(base, '/relay')
      t.teardown(() => reader.close())
      await until(() => app.broker.subscriberCount('t') === 1, 'subscribed')
      await until(() => reader.frames.length === 1, 'the reader is subscribed')
      // One burst a turn of the event loop, each as soon as the reader has all but the last four.
      let published = 0
      for (let b = 0; b < BURSTS; b++) {
        if (b >= 4) await reader.waitForPublished((b - 4) * SIZE, `burst ${b - 4}`, 60_000)
        const first = published
        published += SIZE
        await Promise.all(Array.from({ length: SIZE }, (_, i) => app.broker.publish('t', 'note', { topic: 't', n: first + i + 1, pad: PAD })))
        await new Promise((resolve) => setImmediate(resolve))
      }
      await reader.waitForPublished(published, 'every burst', 60_000)
      t.same(describe(reader.frames), ['subscribed {"topics":["t"]}', ...noteKeys(Array.from({ length: published }, (_, i) => ({ topic: 't', n: i + 1 })))], 'every event, once, in order')
      t.equal(reader.ended, false, 'the stream is still open')
      t.same(logs.matching((line) => line.msg === SLOW || line.msg === 'event stream failed'), [], 'no stream was closed or failed')
    })
  }
}
