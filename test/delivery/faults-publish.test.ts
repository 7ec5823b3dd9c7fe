/**
 * Publish outcomes under faults on the publisher connection (issue 11, #10), through the fault proxy.
 * A publish that was sent but not answered is not a failure yet: it is resolved before the caller hears
 * anything. The caller gets success when the event was published (exactly one copy reaches the
 * subscribers), an error saying `published: false` only when it was not (and it never arrives later),
 * and `published: 'unknown'` only when Redis stayed silent for the whole window.
 */
import t, { type Test } from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { eventsPath, startInstance, type Instance } from '../helpers/delivery-app.js'
import { describe } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { sleep, until } from '../helpers/wait.js'

const redis = await startRedis({ t })
const TIMEOUT = 700

interface Outcome { ok: boolean, offset?: number, error?: { code?: string, message: string, published?: unknown } }

async function setup (t: Test, topic: string): Promise<{ proxy: FaultProxy, instance: Instance, reader: StreamReader, publish: (n: number) => Promise<Outcome> }> {
  const proxy = await startFaultProxy(redis.port, t)
  const instance = await startInstance(t, { redisUrl: proxy.url, app: { publishTimeoutMs: TIMEOUT, probeIntervalMs: 0 } })
  const reader = await StreamReader.open(instance.base, eventsPath([topic]))
  t.teardown(() => reader.close())
  await until(() => reader.frames.length === 1, 'subscribed')
  await until(() => proxy.connections('publisher').length === 1, 'the publisher named itself')
  const publish = async (n: number): Promise<Outcome> => {
    try {
      const result = await instance.app.broker.publish(topic, 'note', { topic, n })
      return { ok: true, offset: result.offset }
    } catch (error) {
      return { ok: false, error: error as Outcome['error'] }
    }
  }
  return { proxy, instance, reader, publish }
}

const notes = (reader: StreamReader) => describe(reader.frames.slice(1))

t.test('replies later than publishTimeoutMs: every publish succeeds, each event arrives once', async (t) => {
  const { proxy, reader, publish } = await setup(t, 'late')
  proxy.delay(TIMEOUT + 150, { role: 'publisher', direction: 'down' })
  const outcomes: Outcome[] = []
  for (let n = 1; n <= 3; n++) outcomes.push(await publish(n))
  // And three at once: late replies of concurrent publishes resolve each one.
  outcomes.push(...await Promise.all([4, 5, 6].map((n) => publish(n))))
  t.same(outcomes.map((outcome) => outcome.ok), [true, true, true, true, true, true], `all succeeded: ${outcomes.map((o) => o.error?.message ?? 'ok').join(' | ')}`)
  await reader.waitForPublished(6)
  const sequential = notes(reader).slice(0, 3)
  t.same(sequential, ['late#1', 'late#2', 'late#3'], 'the sequential ones in order')
  t.same(notes(reader).slice(3).sort(), ['late#4', 'late#5', 'late#6'], 'the concurrent ones once each')
  t.same(outcomes.map((outcome) => outcome.offset).sort((a, b) => (a as number) - (b as number)), [1, 2, 3, 4, 5, 6], 'offsets 1..6: nothing appended twice')
})

t.test('the connection dies after Redis ran the publish, before its reply: the publish succeeds, the event arrives once', async (t) => {
  const { proxy, reader, publish } = await setup(t, 'ran')
  t.same(await publish(1), { ok: true, offset: 1 })
  proxy.delay(60_000, { role: 'publisher', direction: 'down' })
  const pending = publish(2)
  await reader.waitForPublished(2, 'the event published by the held command')
  proxy.cut({ role: 'publisher' })
  proxy.resume()
  t.same(await pending, { ok: true, offset: 2 }, 'success with the offset it was published at')
  t.same(await publish(3), { ok: true, offset: 3 }, 'the next offset: the retry appended nothing')
  await reader.waitForPublished(3)
  await sleep(100)
  t.same(notes(reader), ['ran#1', 'ran#2', 'ran#3'], 'every event once, in order')
})

t.test('commands stalled on the way to Redis past the window: the publish is fenced off, reported not published, and never arrives', async (t) => {
  const { proxy, reader, publish } = await setup(t, 'fenced')
  const [first] = proxy.connections('publisher')
  proxy.stall({ role: 'publisher', direction: 'up' })
  const started = Date.now()
  const pending = publish(1)
  // The broker gives up on the silent connection and opens another; once that one flows, the outcome is settled.
  await until(() => proxy.connections('publisher').length === 1 && proxy.connections('publisher')[0].id !== first.id, 'the publisher connection was renewed', 5000)
  proxy.resume()
  const outcome = await pending
  t.equal(outcome.ok, false)
  t.equal(outcome.error?.code, 'FVIEWS_ERR_BROKER_UNAVAILABLE')
  t.equal(outcome.error?.published, false, 'definitely not published')
  t.equal(outcome.error?.message, `Event broker unavailable: publishing to 'fenced' failed: Redis did not answer within ${2 * TIMEOUT} ms; the event was not published`)
  t.ok(Date.now() - started >= 2 * TIMEOUT, 'it was given the whole window')
  t.same(await publish(2), { ok: true, offset: 1 }, 'the next event takes offset 1: the fenced one never ran')
  await reader.waitForPublished(1)
  await sleep(200)
  t.same(notes(reader), ['fenced#2'])
})

t.test('Redis silent for longer than the whole window: the outcome is reported unknown', async (t) => {
  const { proxy, reader, publish } = await setup(t, 'silent')
  proxy.stall({ role: 'publisher', direction: 'up' })
  const outcome = await publish(1)
  t.equal(outcome.ok, false)
  t.equal(outcome.error?.code, 'FVIEWS_ERR_BROKER_UNAVAILABLE')
  t.equal(outcome.error?.published, 'unknown')
  t.equal(outcome.error?.message, `Event broker unavailable: publishing to 'silent' is unconfirmed: Redis did not answer within ${3 * TIMEOUT} ms; the event may have been published`)
  proxy.resume()
  await until(async () => (await publish(2)).ok, 'publishing works again', 10_000, 50)
  await reader.waitForPublished(1)
  await sleep(200)
  // Here the silent command was dropped with its connection, so only the later event arrives.
  t.same(notes(reader), ['silent#2'])
})

t.test('Redis unreachable (connections refused): not published after publishTimeoutMs, in the library\'s words', async (t) => {
  const { proxy, instance, publish } = await setup(t, 'refused')
  await proxy.refuse()
  proxy.cut({ role: 'publisher' })
  // Once the broker knows its connection is gone, a publish is refused before it is sent.
  await until(() => /^publisher (connecting|reconnecting|connect|close)$/.test(instance.app.broker.health().detail), 'the publisher connection is down')
  const started = Date.now()
  const outcome = await publish(1)
  const elapsed = Date.now() - started
  t.equal(outcome.error?.published, false)
  t.equal(outcome.error?.message, `Event broker unavailable: publishing to 'refused' failed: Redis could not be reached within ${TIMEOUT} ms; the event was not published`)
  // Not the 3 x publishTimeoutMs of an unanswered publish: nothing was sent, so nothing needs settling.
  t.ok(elapsed >= TIMEOUT && elapsed < 3 * TIMEOUT, `waited publishTimeoutMs, not the settling window (${elapsed} ms)`)
  await proxy.refuse(false)
})

t.test('Redis busy running a script: the publish did not run, waits, and succeeds once Redis is free', async (t) => {
  const { reader, publish } = await setup(t, 'busy')
  await redis.cli('CONFIG', 'SET', 'busy-reply-threshold', '100')
  // A script that never ends on its own: Redis answers every other command with BUSY until SCRIPT KILL.
  const busy = redis.cli('EVAL', 'local i = 0 while true do i = i + 1 end', '0').catch((error: Error) => error.message)
  await sleep(300)
  const pending = publish(1)
  await sleep(200)
  await redis.cli('SCRIPT', 'KILL')
  t.match(await busy, /killed by user/i, 'the busy script was killed')
  t.same(await pending, { ok: true, offset: 1 }, 'published once Redis was free')
  await reader.waitForPublished(1)
  t.same(notes(reader), ['busy#1'])
})
