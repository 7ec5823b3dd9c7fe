/**
 * Redis failures while events flow (a publisher loop through instance A; subscribers on A and B):
 *
 * - `kill -9` of Redis, then a restart on the same port. The restarted Redis is empty (no persistence):
 *   every topic starts a new epoch, so each connected subscriber gets exactly one `reset` per topic
 *   (reason epoch-changed), the documented answer to lost history. Before it: every event acknowledged
 *   before the kill, once and in order (only the very last acknowledged one may be missing: Redis answers
 *   the publisher before it writes to subscribers, and the kill may fall in between - that loss is what
 *   the reset reports). After it: every event published after the restart, once and in order. A publish
 *   that failed appears at most once, and only the one in flight at the kill can (it may have run).
 * - `CLIENT KILL TYPE pubsub`: only the subscriber connections drop. Redis keeps its history, so the
 *   brokers catch up from it: no reset, nothing lost, nothing twice.
 */
import t, { type Test } from 'tap'
import { startRedis, type RedisProcess } from '../helpers/redis-server.js'
import { http } from '../helpers/http.js'
import { eventsPath, startInstance, type Instance } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys, notesOf, type Attempt } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'

const TOPICS = ['flow:0', 'flow:1', 'flow:2', 'flow:3']

interface Client { on: string, topics: string[], reader: StreamReader }

async function setup (t: Test, redis: RedisProcess) {
  const a = await startInstance(t, { redisUrl: redis.url, app: { publishTimeoutMs: 200, probeIntervalMs: 0 } })
  const b = await startInstance(t, { redisUrl: redis.url, app: { publishTimeoutMs: 200, probeIntervalMs: 0 } })
  const clients: Client[] = []
  for (const [name, instance] of [['A', a], ['B', b]] as const) {
    for (const topics of [...TOPICS.map((topic) => [topic]), ['flow:0', 'flow:1'], TOPICS]) {
      clients.push({ on: name, topics, reader: await StreamReader.open(instance.base, eventsPath(topics)) })
    }
  }
  t.teardown(() => clients.forEach((client) => client.reader.close()))
  await until(() => clients.every((client) => client.reader.frames.length === 1), 'every client is subscribed')
  return { a, b, clients }
}

/** Publishes round-robin through A's broker, one at a time, until stopped. */
function publisherLoop (a: Instance, ledger: Ledger) {
  let running = true
  const done = (async () => {
    while (running) await ledger.publish(TOPICS[ledger.attempts.length % TOPICS.length], (topic, note) => a.app.broker.publish(topic, 'note', note))
  })()
  return { stop: async () => { running = false; await done } }
}

/** Waits until the client has the last successful event of each of its topics. */
async function caughtUp (client: Client, ledger: Ledger): Promise<void> {
  const last = new Map<string, number>()
  for (const attempt of ledger.succeeded) if (client.topics.includes(attempt.topic)) last.set(attempt.topic, attempt.n)
  await until(() => {
    const notes = notesOf(client.reader.frames)
    return [...last].every(([topic, n]) => notes.some((note) => note.topic === topic && note.n === n)) || client.reader.ended
  }, () => `client ${client.on} ${client.topics.join(',')} has the last events`, 15_000)
  if (client.reader.ended) throw new Error(`the stream of client ${client.on} ${client.topics.join(',')} ended`)
}

const healthy = async (instance: Instance) => (await http(instance.base, 'GET', '/health')).status === 200

t.test('kill -9 of Redis while events flow, restart on the same port: one reset per topic, nothing acknowledged lost around it', async (t) => {
  const redis = await startRedis({ t })
  const { a, b, clients } = await setup(t, redis)
  const ledger = new Ledger()
  const loop = publisherLoop(a, ledger)
  await until(() => ledger.succeeded.length >= 200 && clients.every((client) => notesOf(client.reader.frames).length > 0), 'events flow')
  await redis.kill9()
  await until(() => ledger.failed.length >= 3, 'three publishes failed while Redis is down')
  await redis.restart()
  await until(async () => await healthy(a) && await healthy(b), 'both instances are healthy again')
  const restartedAt = ledger.attempts.length
  await until(() => ledger.succeeded.filter((attempt) => attempt.n > restartedAt).length >= 200, 'events flow again')
  await loop.stop()
  for (const client of clients) await caughtUp(client, ledger)

  const firstFailure = ledger.failed[0]
  const beforeKill = ledger.attempts.filter((attempt) => attempt.n < firstFailure.n)
  t.ok(beforeKill.every((attempt) => attempt.ok), 'every publish before the kill succeeded')
  // After the first failure, publishes fail until Redis is back, then succeed: nothing succeeds in between.
  const failedNs = ledger.failed.map((attempt) => attempt.n)
  t.same(failedNs, Array.from({ length: failedNs.length }, (_, i) => firstFailure.n + i), 'the failures are one run')
  const lastAcked = beforeKill[beforeKill.length - 1]
  const epochOf = new Map<string, [string, string]>()
  for (const topic of TOPICS) {
    const epochs = [...new Set(ledger.succeeded.filter((attempt) => attempt.topic === topic).map((attempt) => attempt.epoch as string))]
    t.equal(epochs.length, 2, `${topic}: one epoch before the kill, a new one after`)
    epochOf.set(topic, epochs as [string, string])
  }
  const isBefore = (attempt: Attempt) => attempt.n < firstFailure.n

  for (const client of clients) {
    const label = `client on ${client.on}, ${client.topics.join(',')}`
    const frames = client.reader.frames
    const reset = `reset ${JSON.stringify({ reason: 'epoch-changed', topics: client.topics })}`
    const seen = describe(frames)
    t.equal(seen[0], `subscribed ${JSON.stringify({ topics: client.topics })}`, label)
    t.equal(seen.filter((entry) => entry.startsWith('reset ')).length, client.topics.length, `${label}: one reset per topic`)
    t.ok(seen.filter((entry) => entry.startsWith('reset ')).every((entry) => entry === reset), `${label}: each says epoch-changed`)
    const notes = notesOf(frames)
    t.equal(new Set(noteKeys(notes)).size, notes.length, `${label}: no event twice`)
    const firstReset = seen.indexOf(reset)
    // Every event from before the kill precedes every reset; every event after the restart follows the first.
    const received = frames.slice(1).map((frame, i) => ({ frame, index: i + 1 })).filter(({ frame }) => frame.event === 'note')
      .map(({ frame, index }) => ({ index, attempt: ledger.attempts[(JSON.parse(frame.data) as { n: number }).n - 1] }))
    t.ok(received.every(({ index, attempt }) => attempt.n < firstFailure.n || !attempt.ok ? index < firstReset : index > firstReset), `${label}: old epoch, reset, new epoch`)
    for (const topic of client.topics) {
      const got = notes.filter((note) => note.topic === topic).map((note) => note.n)
      t.same(got, [...got].sort((x, y) => x - y), `${label} ${topic}: in order`)
      const before = ledger.succeeded.filter((attempt) => attempt.topic === topic && isBefore(attempt)).map((attempt) => attempt.n)
      const after = ledger.succeeded.filter((attempt) => attempt.topic === topic && !isBefore(attempt)).map((attempt) => attempt.n)
      const gotBefore = got.filter((n) => n < firstFailure.n)
      const gotFailed = got.filter((n) => !ledger.attempts[n - 1].ok)
      const gotAfter = got.filter((n) => n > firstFailure.n && ledger.attempts[n - 1].ok)
      const missing = before.filter((n) => !gotBefore.includes(n))
      t.ok(missing.length === 0 || (missing.length === 1 && missing[0] === lastAcked.n), `${label} ${topic}: every acknowledged event before the kill (missing: ${missing.join(',') || 'none'})`)
      t.ok(gotFailed.length === 0 || (gotFailed.length === 1 && gotFailed[0] === firstFailure.n), `${label} ${topic}: a failed publish at most once, and only the one in flight at the kill (${gotFailed.join(',') || 'none'})`)
      t.same(gotAfter, after, `${label} ${topic}: every event after the restart, in order`)
      if (client.topics.length === 1) {
        // A one-topic client: its whole sequence is exact.
        t.same(seen, [seen[0], ...got.filter((n) => n <= firstFailure.n).map((n) => `${topic}#${n}`), reset, ...after.map((n) => `${topic}#${n}`)], `${label}: the whole sequence`)
      }
    }
  }
  t.ok(a.app.broker.stats.reconnects >= 1 && b.app.broker.stats.reconnects >= 1, 'both subscribers reconnected')
})

t.test('CLIENT KILL TYPE pubsub while events flow: the brokers catch up from history, no reset, nothing lost or twice', async (t) => {
  const redis = await startRedis({ t })
  const { a, b, clients } = await setup(t, redis)
  const ledger = new Ledger()
  const loop = publisherLoop(a, ledger)
  for (let kill = 1; kill <= 3; kill++) {
    const at = ledger.succeeded.length
    await until(() => ledger.succeeded.length >= at + 150, 'events flow')
    const killed = Number(await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub'))
    t.equal(killed, 2, `kill ${kill}: both instances' subscriber connections`)
    await until(() => a.app.broker.stats.reconnects === kill && b.app.broker.stats.reconnects === kill, `kill ${kill}: both reconnected`)
  }
  const at = ledger.succeeded.length
  await until(() => ledger.succeeded.length >= at + 150, 'events flow after the last reconnect')
  await loop.stop()
  t.same(ledger.failed, [], 'no publish failed: the publisher connection was never touched')
  for (const client of clients) await caughtUp(client, ledger)

  for (const client of clients) {
    const label = `client on ${client.on}, ${client.topics.join(',')}`
    const expected = ledger.expected(client.topics)
    if (client.topics.length === 1) {
      t.same(describe(client.reader.frames), [`subscribed ${JSON.stringify({ topics: client.topics })}`, ...noteKeys(expected)], `${label}: every event once, in order, no reset`)
    } else {
      // Catch-up runs per topic, so across topics the order may differ from the publish order.
      const notes = notesOf(client.reader.frames)
      t.same(describe(client.reader.frames.filter((frame) => frame.event !== 'note')), [`subscribed ${JSON.stringify({ topics: client.topics })}`], `${label}: no reset`)
      t.equal(notes.length, expected.length, `${label}: as many events as published`)
      for (const topic of client.topics) {
        t.same(noteKeys(notes.filter((note) => note.topic === topic)), noteKeys(expected.filter((note) => note.topic === topic)), `${label} ${topic}: every event once, in order`)
      }
    }
  }
  t.equal(a.app.broker.stats.eventsLost + b.app.broker.stats.eventsLost, 0)
})
