/**
 * Untrusted resume cursors: malformed, forged (a valid shape with a bad checksum, an offset ahead of the
 * head, another epoch, another topic set) and oversized values, in the Last-Event-ID header and in
 * `?lastEventId=`. Every one gets a 200 stream that opens with exactly one `reset` event - data
 * `{ reason, topics }` - and then the live events: never a 4xx/5xx, never an error logged, and a real
 * EventSource that receives a reset keeps its connection (no reconnect loop).
 */
import t, { type Test } from 'tap'
import { encodeCursor, sealCursor } from '../../lib/broker/cursor.js'
import { LogCapture } from '../helpers/sse-http.js'
import { startRedis } from '../helpers/redis-server.js'
import { eventsPath, startInstance, viaBroker, type Instance } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys } from '../helpers/ledger.js'
import { ResumingEventSource } from '../helpers/resuming-event-source.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'

const redis = await startRedis({ t })

async function boot (t: Test, redisUrl: string | undefined): Promise<{ instance: Instance, logs: LogCapture }> {
  const logs = new LogCapture()
  const instance = await startInstance(t, { redisUrl, app: { fastify: { logger: { level: 'warn', stream: logs } } } })
  return { instance, logs }
}

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: every unusable cursor gives 200, one reset with its reason, then live events`, async (t) => {
    const { instance, logs } = await boot(t, backend === 'redis' ? redis.url : undefined)
    const topic = 'orders'
    const ledger = new Ledger()
    for (let i = 0; i < 3; i++) await ledger.publish(topic, viaBroker(instance))
    // A genuine cursor, to forge from: 2.<set>.<epochs hash>.<offset>.<check>
    const probe = await StreamReader.open(instance.base, eventsPath([topic]))
    await until(() => probe.frames.length === 1, 'subscribed')
    const genuine = probe.frames[0].id as string
    probe.close()
    const [, setKey, , offset] = genuine.split('.')
    const [{ epoch }] = await instance.app.broker.heads([topic])
    t.equal(offset, '3', 'the genuine cursor is at offset 3')
    const other = await StreamReader.open(instance.base, eventsPath(['other-topic']))
    await until(() => other.frames.length === 1, 'subscribed')
    const otherSet = other.frames[0].id as string
    other.close()

    const lastChar = genuine[genuine.length - 1]
    const cases: Array<[string, string, string]> = [
      ['garbage', 'garbage', 'malformed'],
      ['a bad checksum', genuine.slice(0, -1) + (lastChar === '0' ? '1' : '0'), 'malformed'],
      ['a truncated cursor', genuine.slice(0, -3), 'malformed'],
      ['an unknown version', sealCursor(`3.${setKey}.${epoch}.3`), 'malformed'],
      ['a bad offset field', sealCursor(`1.${setKey}.${epoch}-`), 'malformed'],
      ['a 10 KB value', 'x'.repeat(10 * 1024), 'malformed'],
      ['a 10 KB value that starts like a cursor', `${genuine}.${'a'.repeat(10 * 1024)}`, 'malformed'],
      ['non-ASCII text', 'cursor-\u00e9\u00e8', 'malformed'],
      ['an offset ahead of the head (checksum valid)', encodeCursor(setKey, [{ epoch, offset: 99 }]), 'invalid-offset'],
      ['a huge offset', encodeCursor(setKey, [{ epoch, offset: 36 ** 10 }]), 'invalid-offset'],
      ['another epoch', encodeCursor(setKey, [{ epoch: 'zzzz', offset: 1 }]), 'epoch-changed'],
      ['a cursor of another topic set', otherSet, 'topics-changed'],
      ['two positions for one topic', sealCursor(`1.${setKey}.${epoch}-1.${epoch}-2`), 'topics-changed']
    ]
    const readers: Array<{ label: string, reason: string, reader: StreamReader }> = []
    for (const [name, cursor, reason] of cases) {
      // Header values are latin1 on the wire: send non-ASCII only in the query.
      if (/^[\x20-\x7e]*$/.test(cursor)) readers.push({ label: `${name} (header)`, reason, reader: await StreamReader.open(instance.base, eventsPath([topic]), { 'last-event-id': cursor }) })
      readers.push({ label: `${name} (query)`, reason, reader: await StreamReader.open(instance.base, eventsPath([topic], `&lastEventId=${encodeURIComponent(cursor)}`)) })
    }
    t.teardown(() => readers.forEach(({ reader }) => reader.close()))
    for (const { reader } of readers) await until(() => reader.frames.length === 1 || reader.ended, 'the first frame')
    for (let i = 0; i < 2; i++) await ledger.publish(topic, viaBroker(instance))
    for (const { reader } of readers) await reader.waitForPublished(2)
    const live = noteKeys(ledger.expected([topic]).slice(3))
    for (const { label, reason, reader } of readers) {
      t.equal(reader.status, 200, label)
      t.equal(reader.headers['content-type'], 'text/event-stream; charset=utf-8', label)
      t.same(describe(reader.frames), [`reset ${JSON.stringify({ reason, topics: [topic] })}`, ...live], `${label}: one reset (${reason}), then live`)
      t.equal(reader.frames[0].id, genuine, `${label}: the reset carries the current cursor`)
      t.notOk(reader.ended, `${label}: the stream stays open`)
    }
    t.equal(instance.app.topicMetrics.resets, readers.length, 'one reset per request, counted')
    // The reset's cursor resumes: a client that follows the reset loses nothing after it.
    const afterReset = await StreamReader.open(instance.base, eventsPath([topic]), { 'last-event-id': readers[0].reader.frames[0].id as string })
    t.teardown(() => afterReset.close())
    await afterReset.waitForPublished(2)
    t.same(describe(afterReset.frames), [`subscribed ${JSON.stringify({ topics: [topic] })}`, ...live])
    // An empty Last-Event-ID is no cursor at all: a fresh subscription, no reset.
    const empty = await StreamReader.open(instance.base, eventsPath([topic]), { 'last-event-id': '' })
    t.teardown(() => empty.close())
    await until(() => empty.frames.length === 1, 'subscribed')
    t.same(describe(empty.frames), [`subscribed ${JSON.stringify({ topics: [topic] })}`])
    t.same(logs.matching((line) => line.level >= 50), [], 'nothing was logged as an error')
  })

  t.test(`${backend}: a real EventSource sent a forged cursor gets one reset and keeps its connection`, async (t) => {
    const { instance } = await boot(t, backend === 'redis' ? redis.url : undefined)
    const topic = 'forged'
    const ledger = new Ledger()
    await ledger.publish(topic, viaBroker(instance))
    const probe = await StreamReader.open(instance.base, eventsPath([topic]))
    await until(() => probe.frames.length === 1, 'subscribed')
    const [, setKey] = (probe.frames[0].id as string).split('.')
    probe.close()
    const [{ epoch }] = await instance.app.broker.heads([topic])
    const forged = encodeCursor(setKey, [{ epoch, offset: 1000 }])
    const client = new ResumingEventSource(instance.base, eventsPath([topic]), 'forged', { 'Last-Event-ID': forged })
    t.teardown(() => client.close())
    await until(() => client.events.length === 1, 'the reset')
    for (let i = 0; i < 5; i++) await ledger.publish(topic, viaBroker(instance))
    await until(() => client.notes.length === 5, '5 live notes')
    t.same(describe(client.events), [`reset ${JSON.stringify({ reason: 'invalid-offset', topics: [topic] })}`, ...noteKeys(ledger.expected([topic]).slice(1))])
    t.same([client.opens, client.errors, client.connections.length], [1, 0, 1], 'one connection, no error, no reconnect')
  })
}
