/**
 * Malformed messages on the shared Redis (issue 11, #9): anyone who can PUBLISH to a topic's channel can
 * send bytes the library never wrote - an event name with CR, a payload without its fields, garbage
 * JSON, an offset or epoch that is not one, a message for a topic nobody here listens to. The fan-out
 * path must never throw: each such message is logged (rate-limited), counted and skipped, the process
 * survives, and every well-formed event still reaches every client - SSE clients of two instances and a
 * view-style `broker.subscribe()` reader - once and in order.
 */
import t from 'tap'
import { LogCapture } from '../helpers/sse-http.js'
import { startRedis } from '../helpers/redis-server.js'
import { eventsPath, startInstance, viaBroker } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { sleep, until } from '../helpers/wait.js'

const redis = await startRedis({ t })

/** The pub/sub payload as the publish script writes it: epoch, offset, time, event, JSON, one per line. */
const payload = (epoch: string, offset: number | string, time: number | string, event: string, json: string) => `${epoch}\n${offset}\n${time}\n${event}\n${json}`

t.test('garbage PUBLISHed to the channels is logged, counted and skipped; every well-formed event reaches every client', async (t) => {
  const logs = new LogCapture()
  const a = await startInstance(t, { redisUrl: redis.url, app: { probeIntervalMs: 0, fastify: { logger: { level: 'warn', stream: logs } } } })
  const b = await startInstance(t, { redisUrl: redis.url, app: { probeIntervalMs: 0, fastify: { logger: false } } })
  const plans = [['mal:a'], ['mal:b'], ['mal:a', 'mal:b']]
  const readers = await Promise.all([a, b].flatMap((instance) => plans.map((topics) => StreamReader.open(instance.base, eventsPath(topics)))))
  t.teardown(() => readers.forEach((reader) => reader.close()))
  await until(() => readers.every((reader) => reader.frames.length === 1), 'every client is subscribed')

  // A view's `yield* broker.subscribe(...)` reads `data` (parsed JSON) of every event.
  const controller = new AbortController()
  t.teardown(() => controller.abort())
  const relayed: string[] = []
  const relay = (async () => {
    for await (const event of a.app.broker.subscribe<{ topic: string, n: number }>(['mal:a'], { signal: controller.signal })) {
      if (event.event !== 'note') continue
      const data = event.data as { topic: string, n: number }
      relayed.push(`${data.topic}#${data.n}`)
    }
  })().catch((error: Error) => { relayed.push(`error ${error.message}`) })
  await until(() => a.app.broker.subscriberCount('mal:a') === 3, 'the relay is subscribed')

  const ledger = new Ledger()
  let epoch = ''
  let offset = 0
  const publishA = async () => {
    const attempt = await ledger.publish('mal:a', viaBroker(a))
    if (!attempt.ok) throw new Error(`publish failed: ${attempt.error}`)
    epoch = attempt.epoch as string
    offset = attempt.offset as number
  }
  await publishA()
  await ledger.publish('mal:b', viaBroker(b))

  // Each garbage message claims the NEXT offset of mal:a where it can: taken for an event, it would
  // displace the real one that follows.
  const now = () => Date.now()
  const garbage = [
    () => payload(epoch, offset + 1, now(), 'bad\revent', '{"topic":"mal:a","n":0}'),
    () => payload(epoch, offset + 1, now(), 'note', '{not json'),
    () => 'no line feeds at all',
    () => payload(epoch, 'NaN', now(), 'note', '{}'),
    () => payload(epoch, offset + 1, now(), '', '{}'),
    () => payload(epoch, -3, now(), 'note', '{}'),
    () => payload(epoch, offset + 1, 'soon', 'note', '{}'),
    () => payload('not an epoch!', offset + 1, now(), 'note', '{}'),
    // A topic list (a publish to several topics) that is one topic, or does not name the channel's own.
    () => `${payload(epoch, offset + 1, now(), 'note', '{"topic":"mal:a","n":0}')}\nextra`,
    () => `${payload(epoch, offset + 1, now(), 'note', '{"topic":"mal:a","n":0}')}\nmal:b,other`
  ]
  for (const make of garbage) {
    t.equal(await redis.cli('PUBLISH', '{mal:a}', make()), '2', 'both instances received it')
    // Well-formed, but for a topic nobody here listens to: ignored (not malformed).
    await redis.cli('PUBLISH', '{mal:nobody}', payload(epoch, 1, now(), 'note', '{}'))
    await publishA()
    await ledger.publish('mal:b', viaBroker(b))
  }
  t.equal(ledger.failed.length, 0, 'every publish succeeded')

  await Promise.all(readers.map((reader, i) => reader.waitForPublished(ledger.expected(plans[i % 3]).length)))
  await until(() => relayed.length >= ledger.expected(['mal:a']).length, 'the relay has every event')
  for (const [i, reader] of readers.entries()) {
    const topics = plans[i % 3]
    t.same(describe(reader.frames), [`subscribed ${JSON.stringify({ topics })}`, ...noteKeys(ledger.expected(topics))], `${i < 3 ? 'A' : 'B'} ${topics.join(',')}: every event once, in order, no reset`)
  }
  t.same(relayed, noteKeys(ledger.expected(['mal:a'])), 'broker.subscribe(): every event, parsed')
  for (const [name, instance] of [['A', a], ['B', b]] as const) {
    t.equal((instance.app.broker.stats as unknown as { malformedMessages: number }).malformedMessages, garbage.length, `${name} counted each malformed message`)
  }
  const warnings = logs.lines.filter((line) => line.msg === 'redis broker: malformed message skipped')
  t.ok(warnings.length >= 1 && warnings.length <= garbage.length, `logged (${warnings.length} lines)`)
  controller.abort()
  await relay
})

t.test('a well-formed message far ahead of the topic\'s history is dropped, not waited for (no endless history reads)', async (t) => {
  const instance = await startInstance(t, { redisUrl: redis.url, app: { probeIntervalMs: 0 } })
  const reader = await StreamReader.open(instance.base, eventsPath(['mal:ahead']))
  t.teardown(() => reader.close())
  await until(() => reader.frames.length === 1, 'subscribed')
  const ledger = new Ledger()
  const first = await ledger.publish('mal:ahead', viaBroker(instance))
  await reader.waitForPublished(1)
  const xranges = async () => Number(/cmdstat_xrange:calls=(\d+)/.exec(await redis.cli('INFO', 'commandstats'))?.[1] ?? 0)
  const before = await xranges()
  // Offset 1000 of the real epoch: a gap to fill - but history will never hold it, the script did not write it.
  await redis.cli('PUBLISH', '{mal:ahead}', payload(first.epoch as string, 1000, Date.now(), 'note', '{"topic":"mal:ahead","n":0}'))
  await sleep(1000)
  const reads = (await xranges()) - before
  t.ok(reads <= 5, `a few history reads, not one after another forever (${reads})`)
  for (let i = 0; i < 3; i++) await ledger.publish('mal:ahead', viaBroker(instance))
  await reader.waitForPublished(4)
  await sleep(100)
  t.same(describe(reader.frames), ['subscribed {"topics":["mal:ahead"]}', ...noteKeys(ledger.expected(['mal:ahead']))], 'every real event once, in order, no reset')
})

t.test('a well-formed message with another epoch is checked against Redis before anyone is reset', async (t) => {
  const instance = await startInstance(t, { redisUrl: redis.url, app: { probeIntervalMs: 0 } })
  const readers = await Promise.all([['mal:epoch'], ['mal:epoch', 'mal:other']].map((topics) => StreamReader.open(instance.base, eventsPath(topics))))
  t.teardown(() => readers.forEach((reader) => reader.close()))
  await until(() => readers.every((reader) => reader.frames.length === 1), 'subscribed')
  const ledger = new Ledger()
  const first = await ledger.publish('mal:epoch', viaBroker(instance))
  await Promise.all(readers.map((reader) => reader.waitForPublished(1)))
  // Right format, wrong epoch: taken at its word, it reset every client of the topic (epoch-changed).
  await redis.cli('PUBLISH', '{mal:epoch}', payload('zzzzzz', (first.offset as number) + 1, Date.now(), 'note', '{"topic":"mal:epoch","n":0}'))
  for (let i = 0; i < 5; i++) await ledger.publish(i % 2 === 0 ? 'mal:epoch' : 'mal:other', viaBroker(instance))
  await readers[0].waitForPublished(ledger.expected(['mal:epoch']).length)
  await readers[1].waitForPublished(ledger.expected(['mal:epoch', 'mal:other']).length)
  await sleep(100)
  t.same(describe(readers[0].frames), ['subscribed {"topics":["mal:epoch"]}', ...noteKeys(ledger.expected(['mal:epoch']))], 'no reset, every real event once, in order')
  t.same(describe(readers[1].frames), ['subscribed {"topics":["mal:epoch","mal:other"]}', ...noteKeys(ledger.expected(['mal:epoch', 'mal:other']))], 'no reset for the two-topic client either')
  t.equal((instance.app.broker.stats as unknown as { malformedMessages: number }).malformedMessages, 1, 'counted as malformed')
})
