/**
 * A client that resumes over a large backlog, reads the response head and stops reading, on a topic that
 * stays quiet. The replay read the whole backlog from history into objects before sending any of it, then
 * waited for the client, paced below its budget - so the heartbeat sweep never saw more than the budget
 * unsent, and nothing closed it: about 36 MiB held per client for 100,000 events of 20 B on Redis, for as
 * long as the topic stayed quiet (outside review, F1). Now history is read a page at a time as the client
 * takes what was sent (a page is about half the budget of events), and a replay whose client took nothing
 * for a heartbeat interval is closed as slow; the client resumes exactly from its last id.
 *
 * Memory broker and Redis, real sockets, the four ways a route relays a subscription: SubscriptionView,
 * `yield*`, `return` and `for await`. Retained heap is measured with gc() on Redis (on the memory broker
 * the backlog's objects are history's own, so only the closing and the library's own counts tell).
 */
import t from 'tap'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Type, type Static } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { startRedis } from '../helpers/redis-server.js'
import { LogCapture, openStreams } from '../helpers/sse-http.js'
import { describe, noteKeys, notesOf } from '../helpers/ledger.js'
import { RawStreamReader } from '../helpers/raw-stream-reader.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { sleep, until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

const redis = await startRedis({ t })
const SLOW = 'event stream closed: the client reads too slowly'
const BUDGET = 256 * 1024
const HEARTBEAT = 3
// About 7 MB of frames: far more than loopback's socket buffers and the budget together.
const BACKLOG = 30_000
const PAD = 'x'.repeat(150)
const STALLED = 2
const Note = Type.Object({ topic: Type.String(), n: Type.Integer(), pad: Type.String() }, { additionalProperties: false })
const Subscribed = Type.Object({ topics: Type.Array(Type.String()) }, { additionalProperties: false })
const def = { data: Type.Union([Note, Subscribed]), heartbeatSeconds: HEARTBEAT }

class YieldStar extends ServerSideEventsView(def) {
  async * events () {
    yield * this.app.broker.subscribe<Static<typeof Note>>(['t'], { signal: this.signal, lastEventId: this.lastEventId, budgetBytes: BUDGET })
  }
}
class Returned extends ServerSideEventsView(def) {
  events () {
    return this.app.broker.subscribe<Static<typeof Note>>(['t'], { signal: this.signal, lastEventId: this.lastEventId, budgetBytes: BUDGET })
  }
}
class ForAwait extends ServerSideEventsView(def) {
  async * events () {
    const events = this.app.broker.subscribe<Static<typeof Note>>(['t'], { signal: this.signal, lastEventId: this.lastEventId, budgetBytes: BUDGET })
    for await (const event of events) yield { event: event.event, data: event.data, id: event.id }
  }
}
const PATHS = { SubscriptionView: '/events?topic=t', 'yield*': '/ystar', return: '/ret', 'for await': '/loop' }

const notes = (from: number, to: number) => noteKeys(Array.from({ length: to - from + 1 }, (_, i) => ({ topic: 't', n: from + i })))

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: a stalled resume over a large backlog holds about its budget, is closed within a heartbeat, and resumes exactly`, async (t) => {
    const logs = new LogCapture()
    const { app, base } = await startApp(t, {
      redisUrl: backend === 'redis' ? redis.url : undefined,
      subscription: { budgetBytes: BUDGET, heartbeatSeconds: HEARTBEAT },
      views: { '/ystar': YieldStar, '/ret': Returned, '/loop': ForAwait },
      app: { historySize: 100_000, historyBytes: 64 * 1024 * 1024, publishTimeoutMs: 60_000, fastify: { logger: { level: 'warn', stream: logs } } }
    })
    // A cursor from before the backlog: event 0's.
    const first = await StreamReader.open(base, '/events?topic=t')
    await until(() => app.broker.subscriberCount('t') === 1, 'subscribed')
    await app.broker.publish('t', 'note', { topic: 't', n: 0, pad: '' })
    await first.waitForPublished(1, 'event 0')
    const cursor = first.lastId as string
    first.close()
    await until(() => app.broker.subscriberCount('t') === 0, 'the first reader left')
    for (let n = 1; n <= BACKLOG; n += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, i) => app.broker.publish('t', 'note', { topic: 't', n: n + i, pad: PAD })))
    }

    for (const [name, path] of Object.entries(PATHS)) {
      await t.test(name, async (t) => {
        const before = logs.matching((line) => line.msg === SLOW).length
        gc()
        const base0 = process.memoryUsage().heapUsed
        const stalled: RawStreamReader[] = []
        for (let i = 0; i < STALLED; i++) {
          const reader = await RawStreamReader.open(base, path, { 'last-event-id': cursor })
          reader.pause() // reads nothing: the kernel's buffers fill, then the server meets real backpressure
          t.teardown(() => reader.close())
          stalled.push(reader)
        }
        await until(() => openStreams(app) === STALLED, 'the stalled streams are open')
        // Let the replays fill the sockets and stall (a settling pause, not a timing assertion).
        await sleep(1000)
        gc()
        const held = (process.memoryUsage().heapUsed - base0) / STALLED
        const open = openStreams(app)
        t.comment(`${backend} ${name}: ${(held / 1048576).toFixed(2)} MiB retained per stalled client (${open} of ${STALLED} still open when measured)`)
        // Before: about 14 MiB per client on Redis (the whole backlog as objects). Now: a page of about half
        // the budget, half the budget unsent, the last frames; 2 MiB leaves room for the heap's own noise.
        if (backend === 'redis') t.ok(held < 2 * 1024 * 1024, `retained heap per stalled client is bounded by about its budget: ${(held / 1048576).toFixed(2)} MiB`)

        // The topic stays quiet: only the heartbeat sweep can close them.
        await until(() => openStreams(app) === 0, 'the stalled replays are closed', 4 * HEARTBEAT * 1000)
        const closed = logs.matching((line) => line.msg === SLOW).slice(before)
        t.equal(closed.length, STALLED, 'each closed as slow, once')
        for (const line of closed) {
          const counted = (line.unsentBytes as number) + ((line.queuedBytes as number | undefined) ?? 0)
          // Half the budget unsent when the replay waits, with the write before it that Node still counts
          // (pull: half the budget queued, the response's buffer): the budget, plus a frame or a 16 KiB piece.
          t.ok(counted <= BUDGET + 16 * 1024, `it held about its budget when closed: ${counted} bytes unsent and queued`)
        }
        await until(() => app.broker.subscriberCount('t') === 0, 'their subscriptions are released')

        // One reads what reached it before the close and resumes from its last id: exactly the rest.
        const reader = stalled[0]
        reader.resume()
        await reader.done
        const received = notesOf(reader.frames)
        t.same(describe(reader.frames).slice(0, 1), ['subscribed {"topics":["t"]}'], 'it was subscribed')
        t.same(noteKeys(received), notes(1, received.length), 'what it got is the start of the backlog, in order')
        t.ok(received.length > 0 && received.length < BACKLOG, `it had received ${received.length} of ${BACKLOG} events`)
        const resumed = await StreamReader.open(base, path, { 'last-event-id': reader.lastId as string })
        t.teardown(() => resumed.close())
        await resumed.waitForPublished(BACKLOG - received.length, 'missed events', 60_000)
        t.same(describe(resumed.frames), ['subscribed {"topics":["t"]}', ...notes(received.length + 1, BACKLOG)], 'then exactly the rest')
        resumed.close()

        // A reader that keeps reading gets the whole backlog from the old cursor, once, in order.
        const reading = await StreamReader.open(base, path, { 'last-event-id': cursor })
        t.teardown(() => reading.close())
        await reading.waitForPublished(BACKLOG, 'the backlog', 60_000)
        t.same(describe(reading.frames), ['subscribed {"topics":["t"]}', ...notes(1, BACKLOG)], 'the whole backlog, once, in order')
        reading.close()
        await until(() => openStreams(app) === 0 && app.broker.subscriberCount('t') === 0, 'the readers left')
      })
    }
  })
}
