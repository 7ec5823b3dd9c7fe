/**
 * 1,000 clients reconnecting at once (an instance went away, a network blip), each with its own
 * Last-Event-ID: every one receives exactly the events it missed, then live events. In memory the
 * clients come back to the same instance; with Redis they come back to another instance.
 */
import t from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { eventsPath, startInstance, viaBroker, type Instance } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys, notesOf } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'

const CLIENTS = 1000
const TOPICS = Array.from({ length: 10 }, (_, i) => `crowd:${i}`)
const redis = await startRedis({ t })

/** Client i: one topic, every fifth client two. */
const topicsOf = (i: number) => i % 5 === 0 ? [TOPICS[i % 10], TOPICS[(i + 1) % 10]].sort() : [TOPICS[i % 10]]

async function openAll (instance: Instance, headers: (i: number) => Record<string, string>, batch: number): Promise<StreamReader[]> {
  const readers: StreamReader[] = []
  for (let from = 0; from < CLIENTS; from += batch) {
    const opened = await Promise.all(Array.from({ length: Math.min(batch, CLIENTS - from) }, (_, k) =>
      StreamReader.open(instance.base, eventsPath(topicsOf(from + k)), headers(from + k))))
    readers.push(...opened)
  }
  return readers
}

async function publishRound (ledger: Ledger, publisher: Instance, perTopic: number): Promise<void> {
  for (let round = 0; round < perTopic; round++) {
    for (const topic of TOPICS) {
      const attempt = await ledger.publish(topic, viaBroker(publisher))
      if (!attempt.ok) throw new Error(`publish ${attempt.n} failed: ${attempt.error}`)
    }
  }
}

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: 1,000 clients reconnect at once with their last ids, each gets exactly what it missed`, async (t) => {
    const first = await startInstance(t, { redisUrl: backend === 'redis' ? redis.url : undefined })
    const second = backend === 'redis' ? await startInstance(t, { redisUrl: redis.url }) : first
    const ledger = new Ledger()

    const before = await openAll(first, () => ({}), 250)
    t.teardown(() => before.forEach((reader) => reader.close()))
    await until(() => before.every((reader) => reader.frames.length === 1), 'every client is subscribed')
    await publishRound(ledger, first, 5)
    await Promise.all(before.map((reader, i) => reader.waitForPublished(ledger.expected(topicsOf(i)).length)))
    // Each client stopped at its own point: the id of its frame number i % 6 (0 is the `subscribed` frame).
    const lastIds = before.map((reader, i) => reader.frames[i % 6].id as string)
    const seenCount = (i: number) => notesOf(before[i].frames.slice(0, (i % 6) + 1)).length
    for (const reader of before) reader.close()
    await until(() => TOPICS.every((topic) => first.app.broker.subscriberCount(topic) === 0), 'every stream is closed')

    await publishRound(ledger, first, 3)
    const started = Date.now()
    const after = await openAll(second, (i) => ({ 'last-event-id': lastIds[i] }), CLIENTS)
    t.teardown(() => after.forEach((reader) => reader.close()))
    const missed = (i: number) => ledger.expected(topicsOf(i)).slice(seenCount(i))
    await Promise.all(after.map((reader, i) => reader.waitForPublished(missed(i).length, 'missed events', 30_000)))
    t.comment(`1,000 resumes served in ${Date.now() - started} ms`)
    await publishRound(ledger, first, 1)
    await Promise.all(after.map((reader, i) => reader.waitForPublished(missed(i).length)))

    let exact = 0
    const wrong: string[] = []
    for (let i = 0; i < CLIENTS; i++) {
      const wanted = [`subscribed ${JSON.stringify({ topics: topicsOf(i) })}`, ...noteKeys(missed(i))]
      const got = describe(after[i].frames)
      if (after[i].status === 200 && after[i].frames[0].id === lastIds[i] && JSON.stringify(got) === JSON.stringify(wanted)) exact++
      else if (wrong.length < 5) wrong.push(`client ${i}: status ${after[i].status}, got ${JSON.stringify(got)}, wanted ${JSON.stringify(wanted)}`)
    }
    t.equal(exact, CLIENTS, `every client got exactly what it missed, then live${wrong.length > 0 ? `:\n${wrong.join('\n')}` : ''}`)
    t.equal(second.app.topicMetrics.resets, 0, 'no reset')
    t.equal(second.app.topicMetrics.closedForSlowness, 0, 'no stream closed as slow')
  })
}
