/**
 * Issue 11 #5 over real HTTP: a Last-Event-ID over 1,024 characters was treated as absent (a fresh
 * subscription: no replay, no reset); a view relaying 80 topics made 1,030-character cursors, and
 * `maxTopics` above ~150 made every reconnect a `malformed` reset. Now cursors are compact (version 2) and
 * the topic count is capped so the longest cursor fits: 80, 150 and the maximum (256) topics resume
 * exactly, through SubscriptionView and through a view that relays broker.subscribe(); anything unusable
 * gets a reset, never silence.
 */
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { request } from 'undici'
import { createApp, ServerSideEventsView, SubscriptionView, ViewRouter } from '../../lib/index.js'
import { MAX_CURSOR_LENGTH, MAX_SUBSCRIPTION_TOPICS, longestCursorLength } from '../../lib/broker/cursor.js'
import { describe } from '../helpers/ledger.js'
import { dispatcher, StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { listen } from '../helpers/http.js'

t.test('the longest cursor of the most topics fits the cursor limit', async (t) => {
  t.ok(longestCursorLength(MAX_SUBSCRIPTION_TOPICS) <= MAX_CURSOR_LENGTH, `${longestCursorLength(MAX_SUBSCRIPTION_TOPICS)} <= ${MAX_CURSOR_LENGTH}`)
  t.equal(MAX_SUBSCRIPTION_TOPICS, 256)
})

const COUNTS = [80, 150, MAX_SUBSCRIPTION_TOPICS]
const topicsOf = (count: number) => Array.from({ length: count }, (_, i) => `topic-${i}`)

async function boot (t: Test) {
  const app = await createApp({ env: {}, fastify: { logger: false }, drainMs: 0 })
  t.teardown(() => app.close())
  const router = new ViewRouter()
  router.registerView(SubscriptionView({ maxTopics: 1000 }), { prefix: '/events' })
  for (const count of COUNTS) {
    const topics = topicsOf(count)
    class Relay extends ServerSideEventsView({ data: Type.Any() }) {
      async * events () {
        yield * this.app.broker.subscribe(topics, { signal: this.signal, lastEventId: this.lastEventId })
      }
    }
    router.registerView(Relay, { prefix: `/relay/${count}` })
  }
  await app.register(router.plugin)
  return { app, base: await listen(app) }
}

for (const count of COUNTS) {
  for (const via of ['SubscriptionView', 'relaying view'] as const) {
    t.test(`issue-11-5: ${count} topics through a ${via} resume exactly`, async (t) => {
      const { app, base } = await boot(t)
      const topics = topicsOf(count)
      const path = via === 'SubscriptionView' ? `/events?topic=${topics.join(',')}` : `/relay/${count}`
      const first = await StreamReader.open(base, path)
      t.teardown(() => first.close())
      t.equal(first.status, 200)
      await until(() => first.frames.length === 1, 'subscribed')
      // Every topic gets events, some many, so every offset is in the cursor.
      for (const topic of topics) await app.broker.publish(topic, 'note', { topic })
      for (let n = 0; n < 40; n++) await app.broker.publish(topics[n % 3], 'note', { n })
      await first.waitForPublished(count + 40)
      const cursor = first.lastId as string
      t.ok(cursor.length <= MAX_CURSOR_LENGTH, `the cursor (${cursor.length} characters) fits`)
      first.close()
      await until(() => app.broker.subscriberCount(topics[0]) === 0, 'released')

      const missed = [topics[0], topics[count - 1], topics[Math.floor(count / 2)]]
      for (const topic of missed) await app.broker.publish(topic, 'missed', { topic })
      const again = await StreamReader.open(base, path, { 'last-event-id': cursor })
      t.teardown(() => again.close())
      await again.waitForPublished(3)
      await app.broker.publish(topics[1], 'live', { topic: topics[1] })
      await again.waitForPublished(4)
      const opened = describe(again.frames)[0]
      t.match(opened, /^subscribed /, 'it resumes: no reset')
      t.same(describe(again.frames).slice(1), [...missed, topics[1]].map((topic, i) => `${i < 3 ? 'missed' : 'live'} ${JSON.stringify({ topic })}`), 'exactly what it missed, then live')
    })
  }
}

t.test('issue-11-5: an over-long or unusable Last-Event-ID gets a reset, never a silent fresh subscription', async (t) => {
  const { base } = await boot(t)
  const topics = topicsOf(80)
  const paths = [`/events?topic=${topics.join(',')}`, '/relay/80']
  for (const path of paths) {
    for (const [label, cursor] of [['5,000 characters', 'x'.repeat(5000)], ['a cursor cut at 1,024', `2.${'a'.repeat(1100)}`]] as const) {
      const reader = await StreamReader.open(base, path, { 'last-event-id': cursor })
      await until(() => reader.frames.length === 1, `${path} ${label}: the first frame`)
      reader.close()
      t.equal(reader.frames[0].event, 'reset', `${path} ${label}: a reset`)
      t.same(JSON.parse(reader.frames[0].data).reason, 'malformed', `${path} ${label}: malformed`)
    }
  }
})

t.test('issue-11-5: SubscriptionView refuses more topics than a cursor can hold, whatever maxTopics says', async (t) => {
  const { base } = await boot(t)
  const topics = topicsOf(MAX_SUBSCRIPTION_TOPICS + 1)
  const response = await request(`${base}/events?topic=${topics.join(',')}`, { dispatcher })
  const body = await response.body.json() as { code: string, detail: string }
  t.equal(response.statusCode, 400)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same([body.code, body.detail], ['FVIEWS_ERR_TOPIC_INVALID', `Too many topics: ${MAX_SUBSCRIPTION_TOPICS + 1}, at most ${MAX_SUBSCRIPTION_TOPICS}`])
})
