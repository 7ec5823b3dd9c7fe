/**
 * Resume after a disconnect: a client that comes back with its last id receives exactly the events it
 * missed, then live events - through a real EventSource (which resends Last-Event-ID by itself) and
 * through raw `Last-Event-ID` / `?lastEventId=` requests, on the same instance and (Redis) on another.
 */
import t, { type Test } from 'tap'
import { startRedis } from '../helpers/redis-server.js'
import { eventsPath, startInstance, viaBroker, viaHttp, type Instance } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys, notesOf } from '../helpers/ledger.js'
import { ResumingEventSource } from '../helpers/resuming-event-source.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { sleep, until } from '../helpers/wait.js'

const redis = await startRedis({ t })

interface Setup { name: string, publisher: Instance, first: Instance, second: Instance }

async function setups (t: Test): Promise<Setup[]> {
  const memory = await startInstance(t, { view: { retry: 20 } })
  const a = await startInstance(t, { redisUrl: redis.url, view: { retry: 20 } })
  const b = await startInstance(t, { redisUrl: redis.url, view: { retry: 20 } })
  return [
    { name: 'memory, same instance', publisher: memory, first: memory, second: memory },
    { name: 'redis, same instance', publisher: a, first: a, second: a },
    // Published through B's HTTP endpoint, subscribed on A, resumed on B: nothing is shared but Redis.
    { name: 'redis, another instance', publisher: b, first: a, second: b }
  ]
}

/** Publishes the topics' next notes one at a time, 2 ms apart, so publish order is also publish-time order. */
async function publishSpaced (ledger: Ledger, setup: Setup, topics: string[], count: number, http = false): Promise<void> {
  for (let i = 0; i < count; i++) {
    const attempt = await ledger.publish(topics[i % topics.length], http ? viaHttp(setup.publisher) : viaBroker(setup.publisher))
    if (!attempt.ok) throw new Error(`publish ${attempt.n} failed: ${attempt.error}`)
    await sleep(2)
  }
}

const subscribedData = (topics: string[]) => JSON.stringify({ topics: [...topics].sort() })

t.test('a real EventSource resumes by itself with Last-Event-ID: exactly the missed events, then live', async (t) => {
  for (const setup of await setups(t)) {
    for (const topics of [['solo'], ['left', 'right']]) {
      const label = `${setup.name}, ${topics.join('+')}`
      const names = topics.map((topic) => `es-${setup.name.replace(/\W+/g, '-')}-${topic}`)
      const ledger = new Ledger()
      const client = new ResumingEventSource(setup.first.base, eventsPath(names), `es:${label}`)
      t.teardown(() => client.close())
      await until(() => client.events.length === 1, `${label}: subscribed`)
      // Only the first topic has events before the disconnect: the second resumes from 'no event yet'.
      await publishSpaced(ledger, setup, names.slice(0, 1), 4)
      await until(() => client.notes.length === 4, `${label}: 4 live notes`)
      const lastId = client.events[client.events.length - 1].lastEventId

      // The connection drops; the reconnect is held while more is published, then goes to `second`.
      const release = client.hold()
      setup.first.sockets.get(`es:${label}`)?.destroy()
      await until(() => client.errors === 1, `${label}: the EventSource noticed the drop`)
      await publishSpaced(ledger, setup, names, 6, true)
      client.base = setup.second.base
      release()
      await until(() => client.notes.length === 10, `${label}: the 6 missed notes`)
      await publishSpaced(ledger, setup, names, 3)
      await until(() => client.notes.length === 13, `${label}: 3 live notes after the resume`)

      const notes = ledger.expected(names)
      t.same(describe(client.events), [
        `subscribed ${subscribedData(names)}`, ...noteKeys(notes.slice(0, 4)),
        `subscribed ${subscribedData(names)}`, ...noteKeys(notes.slice(4))
      ], `${label}: every event exactly once, in order, one subscribed per connection, no reset`)
      t.same(client.connections, [
        { base: setup.first.base, lastEventId: undefined },
        { base: setup.second.base, lastEventId: lastId }
      ], `${label}: the reconnect sent the last id it had received`)
      t.equal(client.events[5].lastEventId, lastId, `${label}: the resumed stream opens at the cursor the client sent`)
      t.same([client.opens, client.errors], [2, 1], `${label}: one drop, one reconnect`)
      client.close()
    }
  }
})

t.test('raw requests resume with the Last-Event-ID header or ?lastEventId=, alone and together', async (t) => {
  for (const setup of await setups(t)) {
    for (const topics of [['raw'], ['raw-a', 'raw-b', 'raw-c']]) {
      const label = `${setup.name}, ${topics.join('+')}`
      const names = topics.map((topic) => `${setup.name.replace(/\W+/g, '-')}-${topic}`)
      const ledger = new Ledger()
      const first = await StreamReader.open(setup.first.base, eventsPath(names))
      t.teardown(() => first.close())
      t.equal(first.status, 200)
      await until(() => first.frames.length === 1, `${label}: subscribed`)
      await publishSpaced(ledger, setup, names, 5)
      await first.waitForPublished(5)
      const lastId = first.lastId as string
      first.close()
      await until(() => names.every((name) => setup.first.app.broker.subscriberCount(name) === 0), `${label}: the first subscription is released`)

      await publishSpaced(ledger, setup, names, 7, true)
      const byHeader = await StreamReader.open(setup.second.base, eventsPath(names), { 'last-event-id': lastId })
      const byQuery = await StreamReader.open(setup.second.base, eventsPath(names, `&lastEventId=${encodeURIComponent(lastId)}`))
      // When both are sent, the header wins (EventSource sends the header; the query is a fallback).
      const both = await StreamReader.open(setup.second.base, eventsPath(names, '&lastEventId=garbage'), { 'last-event-id': lastId })
      const readers = [byHeader, byQuery, both]
      t.teardown(() => readers.forEach((reader) => reader.close()))
      for (const reader of readers) await reader.waitForPublished(7)
      await publishSpaced(ledger, setup, names, 4)
      for (const reader of readers) await reader.waitForPublished(11)

      const notes = ledger.expected(names)
      t.same(describe(first.frames), [`subscribed ${subscribedData(names)}`, ...noteKeys(notes.slice(0, 5))], `${label}: first connection`)
      for (const [how, reader] of [['header', byHeader], ['query', byQuery], ['header and query', both]] as const) {
        t.equal(reader.status, 200)
        t.same(describe(reader.frames), [`subscribed ${subscribedData(names)}`, ...noteKeys(notes.slice(5))], `${label}, ${how}: exactly the missed events, then live`)
        t.equal(reader.frames[0].id, lastId, `${label}, ${how}: opens at the cursor it was given`)
        reader.close()
      }
      // Every id is a cursor: resuming from any of them gives exactly what follows it.
      const middle = byHeader.frames[4]
      const fromMiddle = await StreamReader.open(setup.first.base, eventsPath(names), { 'last-event-id': middle.id as string })
      t.teardown(() => fromMiddle.close())
      const after = notesOf(byHeader.frames).slice(4)
      await fromMiddle.waitForPublished(after.length)
      t.same(notesOf(fromMiddle.frames), after, `${label}: resuming from a middle id`)
      fromMiddle.close()
    }
  }
})

t.test('a burst on several topics within one millisecond is replayed in publish order', async (t) => {
  // A replay across topics is merged by publish time, which is strictly increasing within a publishing
  // process: 60 concurrent publishes (all in about one millisecond) come back exactly as published.
  for (const setup of await setups(t)) {
    const names = ['x', 'y', 'z'].map((topic) => `burst-${setup.name.replace(/\W+/g, '-')}-${topic}`)
    const ledger = new Ledger()
    const first = await StreamReader.open(setup.first.base, eventsPath(names))
    t.teardown(() => first.close())
    await until(() => first.frames.length === 1, 'subscribed')
    const cursor = first.frames[0].id as string
    first.close()
    await Promise.all(Array.from({ length: 60 }, (_, i) => ledger.publish(names[i % 3], viaBroker(setup.publisher))))
    t.same(ledger.failed, [])
    const resumed = await StreamReader.open(setup.second.base, eventsPath(names), { 'last-event-id': cursor })
    t.teardown(() => resumed.close())
    await resumed.waitForPublished(60)
    t.same(describe(resumed.frames), [`subscribed ${subscribedData(names)}`, ...noteKeys(ledger.expected(names))], setup.name)
    for (const name of names) {
      const offsets = ledger.succeeded.filter((attempt) => attempt.topic === name).map((attempt) => attempt.offset)
      t.same(offsets, Array.from({ length: 20 }, (_, i) => i + 1), `${setup.name} ${name}: offsets follow the publish order`)
    }
    resumed.close()
  }
})
