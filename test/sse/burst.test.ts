/**
 * issue 11 #2: a burst published with Promise.all (as the README recommends) must not close readers that
 * keep up. The byte budget counts what the client has not taken, never the library's own held-back batch;
 * the relay of `broker.subscribe()` must not fail a consumer that keeps up either. Memory broker and Redis,
 * 6,000 events of ~200 B, three readers at full speed on loopback, each gets every event once, in order;
 * through the shared-frame path (one topic), the per-connection path (two topics) and a relay view.
 * FVIEWS_BURST_EVENTS / FVIEWS_BURST_READERS scale it up by hand.
 */
import t from 'tap'
import { Type, type Static } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { startRedis } from '../helpers/redis-server.js'
import { LogCapture } from '../helpers/sse-http.js'
import { eventsPath } from '../helpers/delivery-app.js'
import { describe, noteKeys } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

const redis = await startRedis({ t })
const EVENTS = Number(process.env.FVIEWS_BURST_EVENTS ?? 6_000)
const READERS = Number(process.env.FVIEWS_BURST_READERS ?? 3)
// ~200 B a frame with its id and event lines.
const PAD = 'x'.repeat(120)
const SLOW = 'event stream closed: the client reads too slowly'

const Note = Type.Object({ topic: Type.String(), n: Type.Integer(), pad: Type.String() }, { additionalProperties: false })
const Subscribed = Type.Object({ topics: Type.Array(Type.String()) }, { additionalProperties: false })

class Relay extends ServerSideEventsView({ data: Type.Union([Note, Subscribed]), heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<Static<typeof Note>>(['burst'], { signal: this.signal, lastEventId: this.lastEventId })
  }
}

for (const backend of ['memory', 'redis'] as const) {
  for (const through of ['SubscriptionView', 'SubscriptionView of two topics', 'a view relaying broker.subscribe()'] as const) {
    t.test(`${backend}, ${through}: a Promise.all burst of ${EVENTS} events reaches every reader at full speed, none is closed`, async (t) => {
      const logs = new LogCapture()
      const { app, base } = await startApp(t, {
        redisUrl: backend === 'redis' ? redis.url : undefined,
        views: { '/relay': Relay },
        // A loaded shared machine can take seconds for 6,000 concurrent publishes: that is not what is tested here.
        app: { historySize: EVENTS, publishTimeoutMs: 60_000, fastify: { logger: { level: 'warn', stream: logs } } }
      })
      // One topic: the shared-frame path; two: a frame per connection with its own cursor.
      const topics = through === 'SubscriptionView of two topics' ? ['burst', 'other'] : ['burst']
      const path = through === 'a view relaying broker.subscribe()' ? '/relay' : eventsPath(topics)
      const readers = await Promise.all(Array.from({ length: READERS }, () => StreamReader.open(base, path)))
      t.teardown(() => readers.forEach((reader) => reader.close()))
      await until(() => app.broker.subscriberCount('burst') === READERS, 'every reader subscribed')
      await until(() => readers.every((reader) => reader.frames.length === 1), 'the readers are subscribed')

      await Promise.all(Array.from({ length: EVENTS }, (_, i) => app.broker.publish('burst', 'note', { topic: 'burst', n: i + 1, pad: PAD })))
      const expected = noteKeys(Array.from({ length: EVENTS }, (_, i) => ({ topic: 'burst', n: i + 1 })))
      for (const reader of readers) {
        await reader.waitForPublished(EVENTS, 'burst events', 60_000)
        t.same(describe(reader.frames), [`subscribed ${JSON.stringify({ topics })}`, ...expected], 'every event, once, in order')
        t.equal(reader.ended, false, 'the stream is still open')
      }
      t.same(logs.matching((line) => line.msg === SLOW || line.msg === 'event stream failed'), [], 'no stream was closed or failed')
      t.equal(app.topicMetrics.closedForSlowness, 0)
    })
  }
}
