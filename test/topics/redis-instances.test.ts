/**
 * Topic streams across instances sharing one Redis (createApp with `redisUrl`): what one instance
 * publishes reaches the other's subscribers, every event once and in order, on many topics at once;
 * subscriptions leave nothing behind, in the process or in Redis; and with Redis stopped, publishes and
 * new subscriptions fail visibly (503 problem documents), /health says so, and everything works again,
 * for the connected clients too, once Redis is back.
 */
import t from 'tap'
import type { Broker } from '../../lib/index.js'
import { startRedis } from '../helpers/redis-server.js'
import { http } from '../helpers/http.js'
import { eventsPath, startInstance, viaBroker, viaHttp, type Instance } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'

const redis = await startRedis({ t })
const PROBLEM = 'application/problem+json; charset=utf-8'

const subscribed = (topics: string[]) => `subscribed ${JSON.stringify({ topics: [...topics].sort() })}`
const probeChannel = (broker: Broker) => (broker as unknown as { probeChannel: string }).probeChannel

/** `PUBSUB NUMSUB` of each channel, as redis-cli prints it (channel and count on alternate lines). */
async function numsub (channels: string[]): Promise<Map<string, number>> {
  const lines = (await redis.cli('PUBSUB', 'NUMSUB', ...channels)).split('\n')
  const counts = new Map<string, number>()
  for (let i = 0; i < lines.length; i += 2) counts.set(lines[i], Number(lines[i + 1]))
  return counts
}

t.test('events published through instance A reach subscribers on instance B: 50 topics, every event once, in order', async (t) => {
  const a = await startInstance(t, { redisUrl: redis.url, app: { topicPrefix: 'fanout:' } })
  const b = await startInstance(t, { redisUrl: redis.url, app: { topicPrefix: 'fanout:' } })
  const topics = Array.from({ length: 50 }, (_, i) => `room:${i}`)
  // 100 clients on B, each on 1 to 3 topics (a fixed spread), and 10 on A, to see A's own fan-out agree.
  const plans: Array<{ on: Instance, topics: string[] }> = []
  for (let i = 0; i < 110; i++) {
    const count = 1 + (i % 3)
    plans.push({ on: i < 100 ? b : a, topics: Array.from({ length: count }, (_, k) => topics[(i * 7 + k * 13) % 50]) })
  }
  const readers = await Promise.all(plans.map((plan) => StreamReader.open(plan.on.base, eventsPath(plan.topics))))
  t.teardown(() => readers.forEach((reader) => reader.close()))
  await until(() => readers.every((reader) => reader.frames.length === 1), 'every client is subscribed')

  // One publish at a time, so Redis' order is the publish order; half through the broker, half over HTTP.
  const ledger = new Ledger()
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < topics.length; i++) {
      const topic = topics[(i * 17 + round) % 50]
      const attempt = await ledger.publish(topic, (i + round) % 2 === 0 ? viaBroker(a) : viaHttp(a))
      if (!attempt.ok) throw new Error(`publish ${attempt.n} failed: ${attempt.error}`)
    }
  }
  t.equal(ledger.succeeded.length, 400)
  await Promise.all(readers.map((reader, i) => reader.waitForPublished(ledger.expected(plans[i].topics).length)))
  for (let i = 0; i < readers.length; i++) {
    const wanted = [subscribed(plans[i].topics), ...noteKeys(ledger.expected(plans[i].topics))]
    t.same(describe(readers[i].frames), wanted, `client ${i} (${plans[i].on === a ? 'A' : 'B'}, ${plans[i].topics.join(',')})`)
  }
  t.equal(new Set(b.app.broker.listenedTopics()).size, new Set(plans.slice(0, 100).flatMap((plan) => plan.topics)).size, 'B listens to each of its topics once')
  t.equal(b.app.broker.stats.eventsLost, 0)
})

t.test('1,000 topics subscribed from many clients and released: nothing left in the process or in Redis', async (t) => {
  const app = await startInstance(t, { redisUrl: redis.url, app: { topicPrefix: 'leak:' } })
  const broker = app.app.broker
  const topics = Array.from({ length: 1000 }, (_, i) => `item:${i}`)
  const channel = (topic: string) => `leak:{${topic}}`
  // 40 clients cover the 1,000 topics; 40 more overlap them (shifted by 12), so most topics have two
  // local subscribers and are released only when the second leaves.
  const sets = Array.from({ length: 80 }, (_, i) => Array.from({ length: 25 }, (_, k) => topics[(i * 25 + k + (i >= 40 ? 12 : 0)) % 1000]))
  const readers = await Promise.all(sets.map((set) => StreamReader.open(app.base, eventsPath(set))))
  t.teardown(() => readers.forEach((reader) => reader.close()))
  await until(() => readers.every((reader) => reader.frames.length === 1), 'every client is subscribed')
  t.equal(broker.listenedTopics().length, 1000)
  t.same([...new Set((await numsub(topics.map(channel))).values())], [1], 'one Redis subscription per topic, whatever the number of clients')
  t.equal(broker.subscriberCount('item:20'), 2)

  // Meanwhile, clients that come and go at once race the releases of the same topics.
  const churn = await Promise.all(sets.slice(0, 20).map((set) => StreamReader.open(app.base, eventsPath(set))))
  for (const reader of churn) reader.close()
  for (let i = readers.length - 1; i >= 0; i -= 2) readers[i].close()
  for (let i = readers.length - 2; i >= 0; i -= 2) readers[i].close()
  // A topic's state goes once its UNSUBSCRIBE is answered.
  const states = (broker as unknown as { topics: Map<string, unknown> }).topics
  await until(() => states.size === 0 && app.app.topicMetrics.openConnections === 0, () => `every topic is released (${states.size} left)`)

  t.same(broker.listenedTopics(), [], 'no topic is listened to')
  t.same(topics.filter((topic) => broker.subscriberCount(topic) !== 0), [], 'no local subscriber left')
  t.equal(broker.stats.activeTopics, 0)
  t.same([...new Set((await numsub(topics.map(channel))).values())], [0], 'PUBSUB NUMSUB is 0 for every channel')
  const channels = (await redis.cli('PUBSUB', 'CHANNELS', 'leak:*')).split('\n').filter((line) => line !== '')
  t.same(channels, [probeChannel(broker)], 'only the liveness probe channel is left')
})

t.test('with Redis stopped: 503 problems for publishes and new subscriptions, /health 503, then all works again', async (t) => {
  const own = await startRedis({ t })
  const instance = await startInstance(t, { redisUrl: own.url, app: { publishTimeoutMs: 300 } })
  const { base, app } = instance
  const ledger = new Ledger()
  const connected = await StreamReader.open(base, eventsPath(['outage']))
  t.teardown(() => connected.close())
  await until(() => connected.frames.length === 1, 'subscribed')
  for (let i = 0; i < 3; i++) await ledger.publish('outage', viaHttp(instance))
  await connected.waitForPublished(3)
  t.same((await http(base, 'GET', '/health')).status, 200)

  await own.kill9()
  await until(async () => (await http(base, 'GET', '/health')).status === 503, '/health reports the outage')
  const health = await http(base, 'GET', '/health')
  t.equal(health.headers['content-type'], PROBLEM)
  t.equal(health.headers['retry-after'], '5')
  t.match(health.json(), { status: 503, code: 'FVIEWS_ERR_UNHEALTHY', detail: /^Broker unusable: (publisher|subscriber) (connecting|reconnecting|close|end)$/, broker: { ok: false, backend: 'redis' } })

  // A publish waits publishTimeoutMs for Redis, then fails visibly: the change is not announced as done.
  const started = Date.now()
  let failed!: Awaited<ReturnType<typeof http>>
  const refusedPublish = await ledger.publish('outage', async (topic, note) => {
    failed = await http(base, 'POST', `/publish/${topic}`, { body: note })
    if (failed.status !== 200) throw new Error(`status ${failed.status}`)
    return undefined
  })
  const elapsed = Date.now() - started
  t.equal(refusedPublish.ok, false)
  t.equal(failed.status, 503)
  t.equal(failed.headers['content-type'], PROBLEM)
  t.equal(failed.headers['retry-after'], undefined, 'the change was applied: no invitation to repeat it')
  t.same(failed.json(), {
    type: 'about:blank',
    title: 'Service Unavailable',
    status: 503,
    detail: "The change was applied, but its 'note' event could not be published: the event broker is unavailable. Do not repeat the request; read the current state instead.",
    instance: '/publish/outage',
    code: 'FVIEWS_ERR_EVENT_NOT_PUBLISHED',
    applied: true,
    publication: 'failed',
    event: 'note',
    topics: ['outage']
  })
  t.ok(elapsed >= 300 && elapsed < 1300, `it waited publishTimeoutMs (300 ms) for Redis, no more: ${elapsed} ms`)
  t.equal(app.broker.stats.publishedEvents, 3)

  // A subscription that needs Redis (a topic this instance does not listen to yet) is refused before streaming.
  const refused = await http(base, 'GET', eventsPath(['fresh']))
  t.equal(refused.status, 503)
  t.equal(refused.headers['content-type'], PROBLEM)
  t.equal(refused.headers['retry-after'], '2')
  t.same(refused.json(), { type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'FVIEWS_ERR_BROKER_UNAVAILABLE', detail: 'Cannot subscribe now. The event broker is unavailable', instance: '/events' }, 'no backend text')
  t.same([app.broker.listenedTopics(), app.topicMetrics.openConnections], [['outage'], 1], 'the refusal left nothing behind')
  // A topic the instance already listens to needs nothing from Redis to join: that stream opens, and
  // waits for Redis like the connected ones.
  const joinedDuringOutage = await StreamReader.open(base, eventsPath(['outage']))
  t.teardown(() => joinedDuringOutage.close())
  await until(() => joinedDuringOutage.frames.length === 1, 'subscribed')
  t.equal(joinedDuringOutage.status, 200)

  // Redis comes back empty (no persistence): a new epoch, so the connected clients get one reset, then live.
  await own.restart()
  await until(async () => (await http(base, 'GET', '/health')).status === 200, '/health is green again')
  for (let i = 0; i < 3; i++) {
    const attempt = await ledger.publish('outage', viaHttp(instance))
    t.ok(attempt.ok, `publish ${attempt.n} after the restart: ${attempt.error ?? 'ok'}`)
  }
  await connected.waitForPublished(6)
  await joinedDuringOutage.waitForPublished(3)
  const reset = `reset ${JSON.stringify({ reason: 'epoch-changed', topics: ['outage'] })}`
  const notes = noteKeys(ledger.expected(['outage']))
  t.same(describe(connected.frames), [subscribed(['outage']), ...notes.slice(0, 3), reset, ...notes.slice(3)])
  t.same(describe(joinedDuringOutage.frames), [subscribed(['outage']), reset, ...notes.slice(3)])
  t.same(notes, ['outage#1', 'outage#2', 'outage#3', 'outage#5', 'outage#6', 'outage#7'], 'the refused publish (#4) was never delivered')
  // New subscriptions work again.
  const fresh = await StreamReader.open(base, eventsPath(['fresh']))
  t.teardown(() => fresh.close())
  await until(() => fresh.frames.length === 1, 'subscribed')
  t.equal(fresh.status, 200)
})
