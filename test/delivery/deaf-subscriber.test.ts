/**
 * A deaf subscriber (Centrifugo #1189): the broker's subscriber connection stays connected but stops
 * receiving - here its channels are unsubscribed behind the broker's back. Publishes still succeed. The
 * liveness probe notices, /health answers 503 meanwhile, the subscriber is rebuilt, and the connected
 * clients receive every event published meanwhile (caught up from history), once and in order.
 */
import t from 'tap'
import type { Redis } from 'ioredis'
import { startRedis } from '../helpers/redis-server.js'
import { http } from '../helpers/http.js'
import { LogCapture } from '../helpers/sse-http.js'
import { eventsPath, startInstance, viaBroker, viaHttp } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys, notesOf } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'

const redis = await startRedis({ t })

t.test('a subscriber that stops receiving is found by the probe and rebuilt; clients lose nothing', async (t) => {
  const logs = new LogCapture()
  const instance = await startInstance(t, { redisUrl: redis.url, app: { probeIntervalMs: 250, fastify: { logger: { level: 'warn', stream: logs } } } })
  const { app, base } = instance
  const plans = [['deaf:a'], ['deaf:b'], ['deaf:a', 'deaf:b']]
  const readers = await Promise.all(plans.map((topics) => StreamReader.open(base, eventsPath(topics))))
  t.teardown(() => readers.forEach((reader) => reader.close()))
  await until(() => readers.every((reader) => reader.frames.length === 1), 'subscribed')
  const ledger = new Ledger()
  const publishSome = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const attempt = await ledger.publish(i % 2 === 0 ? 'deaf:a' : 'deaf:b', i % 3 === 0 ? viaHttp(instance) : viaBroker(instance))
      if (!attempt.ok) throw new Error(`publish ${attempt.n} failed: ${attempt.error}`)
    }
  }
  await publishSome(10)
  await Promise.all(readers.map((reader, i) => reader.waitForPublished(ledger.expected(plans[i]).length)))
  t.equal((await http(base, 'GET', '/health')).status, 200)

  // Deaf: still connected (status ready), subscribed to nothing. Publishes keep succeeding.
  const subscriber = (app.broker as unknown as { subscriber: Redis }).subscriber
  await subscriber.unsubscribe()
  t.equal(subscriber.status, 'ready')
  t.same(await redis.cli('PUBSUB', 'NUMSUB', '{deaf:a}', '{deaf:b}'), '{deaf:a}\n0\n{deaf:b}\n0', 'Redis holds no subscription for the topics')
  await publishSome(20)
  t.equal(ledger.failed.length, 0, 'publishes succeed while nobody listens')

  // /health turns 503 once the probe misses, and green again once the rebuilt subscriber sees a probe.
  const details = new Set<string>()
  await until(async () => {
    const answer = await http(base, 'GET', '/health')
    if (answer.status === 503) details.add(answer.json().detail)
    return details.size > 0 && answer.status === 200
  }, '/health goes 503, then 200', 30_000, 5)
  const why = /^Broker unusable: (subscriber connected but not receiving; rebuilding it|subscriber (close|reconnecting|connecting|connect))$/
  t.ok([...details].every((detail) => why.test(detail)), `/health said why: ${[...details].join(' | ')}`)
  t.equal(logs.matching((line) => line.msg === 'redis broker: the subscriber missed its probe; reconnecting it').length, 1, 'the probe found it deaf once')
  // Once: probes published while it was being rebuilt must not count against the rebuilt subscriber.
  t.equal(app.broker.stats.reconnects, 1, 'the subscriber was rebuilt once')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(app.broker.stats.reconnects, 1, 'and not again: six more probes were all seen')
  t.equal((await http(base, 'GET', '/health')).status, 200)

  await publishSome(5)
  await Promise.all(readers.map((reader, i) => reader.waitForPublished(ledger.expected(plans[i]).length)))
  for (let i = 0; i < 2; i++) {
    t.same(describe(readers[i].frames), [`subscribed ${JSON.stringify({ topics: plans[i] })}`, ...noteKeys(ledger.expected(plans[i]))], `${plans[i].join(',')}: every event once, in order, no reset`)
  }
  // The catch-up runs per topic: across topics, the missed events may come grouped by topic.
  const both = readers[2]
  t.same(describe(both.frames.filter((frame) => frame.event !== 'note')), [`subscribed ${JSON.stringify({ topics: plans[2] })}`], 'deaf:a,deaf:b: no reset')
  t.equal(both.published.length, ledger.expected(plans[2]).length, 'deaf:a,deaf:b: as many events as published')
  for (const topic of plans[2]) {
    t.same(noteKeys(notesOf(both.frames).filter((note) => note.topic === topic)), noteKeys(ledger.expected([topic])), `deaf:a,deaf:b: every event of ${topic} once, in order`)
  }
  t.equal(app.broker.stats.eventsLost, 0)
  t.same(await redis.cli('PUBSUB', 'NUMSUB', '{deaf:a}', '{deaf:b}'), '{deaf:a}\n1\n{deaf:b}\n1', 'subscribed again')
})
