/**
 * A busy Redis is not a silent one (outside review): 40,000 publishes made at once, through a healthy
 * redis-server that answers them steadily, got some `published: 'unknown'` although every event was
 * delivered - each publish's clock started when it was called, so those queued behind tens of thousands
 * of others timed out while Redis worked, and renewing the connection under them made it worse. Now every
 * one is published, with its offset in call order, each event reaches the subscriber once and in order,
 * and the publisher connection is never renewed - directly, and through the fault proxy adding latency
 * to every reply. (test/delivery/faults-*.test.ts keep the outcomes of a Redis that really is silent.)
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import { eventsPath, startInstance } from '../helpers/delivery-app.js'
import { describe } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'

const redis = await startRedis({ t })
const N = 40_000
// Far shorter than the burst takes: only silence may make a publish late, never the wait behind the others.
const TIMEOUT = 1000

for (const latencyMs of [0, 150]) {
  t.test(`${N} publishes at once${latencyMs === 0 ? '' : `, every reply ${latencyMs} ms late`}: all published, in order, each event delivered once`, async (t) => {
    const proxy = await startFaultProxy(redis.port, t)
    const instance = await startInstance(t, {
      redisUrl: proxy.url,
      app: { publishTimeoutMs: TIMEOUT, probeIntervalMs: 0, historySize: N },
      // The reader takes everything: this test is about publishing, not about slow clients.
      view: { budgetBytes: 512 * 1024 * 1024 }
    })
    const topic = `busy-${latencyMs}`
    const reader = await StreamReader.open(instance.base, eventsPath([topic]))
    t.teardown(() => reader.close())
    await until(() => reader.frames.length === 1, 'subscribed')
    await until(() => proxy.connections('publisher').length === 1, 'the publisher named itself')
    const [publisher] = proxy.connections('publisher')
    if (latencyMs > 0) proxy.delay(latencyMs, { role: 'publisher', direction: 'down' })

    const outcomes = await Promise.all(Array.from({ length: N }, async (_, i) => {
      try {
        return (await instance.app.broker.publish(topic, 'note', { topic, n: i + 1 })).offset
      } catch (error) {
        const { code, published, message } = error as { code?: string, published?: unknown, message: string }
        return `${String(code)} published=${String(published)}: ${message}`
      }
    }))
    const wrong = outcomes.flatMap((outcome, i) => outcome === i + 1 ? [] : [`#${i + 1}: ${String(outcome)}`])
    t.same(wrong.slice(0, 5), [], `every publish succeeded with offset n (${wrong.length} did not)`)

    await reader.waitForPublished(N, 'events', 120_000)
    const got = describe(reader.frames.slice(1))
    const misplaced = got.findIndex((note, i) => note !== `${topic}#${i + 1}`)
    t.equal(got.length, N, 'each event once')
    t.equal(misplaced, -1, misplaced === -1 ? 'in order' : `first out of place: #${misplaced + 1} is ${got[misplaced]}`)
    t.equal(proxy.connections('publisher')[0], publisher, 'the publisher connection was never renewed')
  })
}

t.test('a silent Redis still fails a burst that waited for its turn: never sent, reported not published, never delivered', async (t) => {
  const STALL_TIMEOUT = 700
  const proxy = await startFaultProxy(redis.port, t)
  const instance = await startInstance(t, { redisUrl: proxy.url, app: { publishTimeoutMs: STALL_TIMEOUT, probeIntervalMs: 0 } })
  const topic = 'silent'
  const reader = await StreamReader.open(instance.base, eventsPath([topic]))
  t.teardown(() => reader.close())
  await until(() => reader.frames.length === 1, 'subscribed')
  await until(() => proxy.connections('publisher').length === 1, 'the publisher named itself')
  const [stalled] = proxy.connections('publisher')
  // Commands stop on the way to Redis: 1,024 publishes are sent into the stall, the other 476 wait their turn.
  proxy.stall({ role: 'publisher', direction: 'up' })
  const pending = Array.from({ length: 1500 }, async (_, i) => {
    try {
      return `offset ${(await instance.app.broker.publish(topic, 'note', { topic, n: i + 1 })).offset}`
    } catch (error) {
      const { published, message } = error as { published?: unknown, message: string }
      return `published=${String(published)}: ${message}`
    }
  })
  await until(() => proxy.connections('publisher').every((connection) => connection.id !== stalled.id), 'the silent connection was renewed', 10_000)
  proxy.resume()
  const outcomes = await Promise.all(pending)
  const fenced = `published=false: Event broker unavailable: publishing to '${topic}' failed: Redis did not answer within ${2 * STALL_TIMEOUT} ms; the event was not published`
  const waited = `published=false: Event broker unavailable: publishing to '${topic}' failed: it waited to be sent while Redis answered nothing for ${STALL_TIMEOUT} ms; the event was not published`
  // Which of the 1,024 sent into the stall settle as published depends on how the machine schedules the
  // renewal and the resume (a slow machine re-sends some on the new connection before their window ends):
  // what must hold is that each outcome is exact - published with its own offset, or not published and
  // never delivered, never 'unknown' with Redis back.
  const offsets = outcomes.filter((outcome) => outcome.startsWith('offset ')).map((outcome) => Number(outcome.slice(7)))
  t.same([...new Set(outcomes.slice(0, 1024).filter((outcome) => !outcome.startsWith('offset ')))], [fenced], 'the others sent into the stall were fenced: not published')
  t.same([...new Set(outcomes.slice(1024).filter((outcome) => !outcome.startsWith('offset ')))], [waited], 'those that waited for their turn were never sent: not published')
  t.same([...offsets].sort((x, y) => x - y), offsets.map((_, i) => i + 1), 'the published ones have offsets 1..k, once each')
  t.ok(offsets.length < 1500, `a silent Redis failed the burst (${1500 - offsets.length} of 1,500 not published)`)
  // At most once, exactly: the next publish takes the next offset, and the reader has exactly what was published.
  t.equal((await instance.app.broker.publish(topic, 'note', { topic, n: 0 })).offset, offsets.length + 1)
  await reader.waitForPublished(offsets.length + 1)
  const published = outcomes.flatMap((outcome, i) => outcome.startsWith('offset ') ? [{ n: i + 1, offset: Number(outcome.slice(7)) }] : [])
    .sort((x, y) => x.offset - y.offset).map(({ n }) => `${topic}#${n}`)
  t.same(describe(reader.frames.slice(1)), [...published, `${topic}#0`], 'every published event once, in offset order, and no other')
})
