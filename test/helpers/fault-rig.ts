/**
 * The rig of the fault tests (test/delivery/faults-*.test.ts): a real redis-server, the fault proxy in
 * front of it, instance A connected through the proxy (its connections suffer the faults) and instance B
 * connected directly; SSE clients on both; publishers that record every outcome; and one exact check of
 * what each client received against what was published.
 *
 * The rule checked: per topic, a client gets every event published successfully, once, in offset order;
 * an event whose publish failed with `published: false` never; one whose outcome is `'unknown'` at most
 * once. Where history was really lost (Redis restarted empty), one `reset` per topic (`epoch-changed`)
 * stands for what the old epoch could not deliver, and everything of the new epoch follows it.
 */
import type { Test } from 'tap'
import { startRedis, type RedisProcess } from './redis-server.js'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'
import { eventsPath, startInstance, type Instance } from './delivery-app.js'
import { StreamReader } from './stream-reader.js'
import { until } from './wait.js'

export interface Outcome {
  topic: string
  n: number
  /** true: published; false: definitely not; 'unknown': the broker could not tell; undefined: in flight. */
  published?: boolean | 'unknown'
  epoch?: string
  offset?: number
  error?: string
}

export interface Client { on: 'A' | 'B', topics: string[], reader: StreamReader }

export interface Rig {
  redis: RedisProcess
  proxy: FaultProxy
  a: Instance
  b: Instance
  clients: Client[]
  outcomes: Outcome[]
  /** Publishes `{ topic, n }` as `note` through the instance's broker and records the outcome. */
  publish: (via: Instance, topic: string) => Promise<Outcome>
}

export const PLANS = [['f:0'], ['f:1'], ['f:2'], ['f:0', 'f:1'], ['f:0', 'f:1', 'f:2']]
export const TOPICS = ['f:0', 'f:1', 'f:2']

export async function faultRig (t: Test, app: Record<string, unknown> = {}): Promise<Rig> {
  const redis = await startRedis({ t })
  const proxy = await startFaultProxy(redis.port, t)
  // FAULT_LOG=1 shows the instances' warnings, to see why a schedule failed.
  const options = { probeIntervalMs: 0, publishTimeoutMs: 500, ...app, fastify: { logger: process.env.FAULT_LOG === undefined ? false : { level: 'warn' } } }
  const a = await startInstance(t, { redisUrl: proxy.url, app: options })
  const b = await startInstance(t, { redisUrl: redis.url, app: options })
  const clients: Client[] = []
  for (const [on, instance] of [['A', a], ['B', b]] as const) {
    for (const topics of PLANS) clients.push({ on, topics, reader: await StreamReader.open(instance.base, eventsPath(topics)) })
  }
  t.teardown(() => clients.forEach((client) => client.reader.close()))
  await until(() => clients.every((client) => client.reader.frames.length === 1), 'every client is subscribed')
  await until(() => proxy.connections('publisher').length === 1 && proxy.connections('subscriber').length === 1, 'A named its connections')
  const outcomes: Outcome[] = []
  const publish = async (via: Instance, topic: string): Promise<Outcome> => {
    const outcome: Outcome = { topic, n: outcomes.length + 1 }
    outcomes.push(outcome)
    try {
      const result = await via.app.broker.publish(topic, 'note', { topic, n: outcome.n })
      Object.assign(outcome, { published: true, epoch: result.epoch, offset: result.offset })
    } catch (error) {
      const published = (error as { published?: boolean | 'unknown' }).published
      outcome.published = published === 'unknown' ? 'unknown' : false
      outcome.error = (error as Error).message
    }
    return outcome
  }
  return { redis, proxy, a, b, clients, outcomes, publish }
}

/** Publishes round-robin over TOPICS in bursts of `burst` concurrent publishes (`pauseMs` apart) until stopped. */
export function publisherLoop (rig: Rig, via: Instance, burst = 1, pauseMs = 0) {
  let running = true
  let next = 0
  const done = (async () => {
    while (running) {
      await Promise.all(Array.from({ length: burst }, () => rig.publish(via, TOPICS[next++ % TOPICS.length])))
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  })()
  return {
    published: () => rig.outcomes.filter((outcome) => outcome.published === true).length,
    stop: async () => { running = false; await done }
  }
}

interface Received { event: string, n?: number, topic?: string, data: string }

function receivedOf (client: Client): Received[] {
  return client.reader.frames.slice(1).map((frame) => {
    if (frame.event !== 'note') return { event: frame.event, data: frame.data }
    const { topic, n } = JSON.parse(frame.data) as { topic: string, n: number }
    return { event: 'note', topic, n, data: frame.data }
  })
}

/** Waits until every client holds the last published event of each of its topics. */
export async function settled (rig: Rig, limitMs = 15_000): Promise<void> {
  for (const client of rig.clients) {
    const last = new Map<string, Outcome>()
    for (const outcome of rig.outcomes) {
      if (outcome.published === true && client.topics.includes(outcome.topic)) {
        const seen = last.get(outcome.topic)
        if (seen === undefined || `${seen.epoch}` !== `${outcome.epoch}` || (seen.offset as number) < (outcome.offset as number)) last.set(outcome.topic, outcome)
      }
    }
    // The newest epoch's highest offset: after a restart the outcomes of the old epoch come first.
    await until(() => {
      const got = new Set(receivedOf(client).map((entry) => entry.n))
      return [...last.values()].every((outcome) => got.has(outcome.n)) || client.reader.ended
    }, () => {
      const got = new Set(receivedOf(client).map((entry) => entry.n))
      const missing = [...last.values()].filter((outcome) => !got.has(outcome.n)).map((outcome) => `${outcome.topic}@${outcome.offset}`)
      const instance = client.on === 'A' ? rig.a : rig.b
      const states = [...(instance.app.broker as unknown as { topics: Map<string, { topic: string, head: number, held: unknown[], catchingUp: boolean, ready: boolean, listening: boolean }> }).topics.values()]
        .map((state) => `${state.topic}: head ${state.head}, held ${state.held.length}, catchingUp ${state.catchingUp}, ready ${state.ready}, listening ${state.listening}`)
      return `client ${client.on} ${client.topics.join(',')} has the last events (missing ${missing.join(', ')}; broker ${states.join('; ')}; ${instance.app.broker.health().detail})`
    }, limitMs)
    if (client.reader.ended) throw new Error(`the stream of client ${client.on} ${client.topics.join(',')} ended`)
  }
}

/**
 * The exact check. `lostHistory`: Redis lost its data once (a restart without persistence), so each
 * client may have one epoch-changed reset per topic, and nothing else.
 */
export function checkDelivery (t: Test, rig: Rig, { lostHistory = false } = {}): void {
  const byN = new Map(rig.outcomes.map((outcome) => [outcome.n, outcome]))
  for (const client of rig.clients) {
    const label = `${client.on} ${client.topics.join(',')}`
    const received = receivedOf(client)
    const resets = received.filter((entry) => entry.event === 'reset')
    const others = received.filter((entry) => entry.event !== 'reset' && entry.event !== 'note')
    t.same(others, [], `${label}: no other control events`)
    if (!lostHistory) {
      t.same(resets, [], `${label}: no reset`)
    } else {
      const expectedReset = JSON.stringify({ reason: 'epoch-changed', topics: client.topics })
      t.ok(resets.length <= client.topics.length && resets.every((reset) => reset.data === expectedReset), `${label}: at most one epoch-changed reset per topic (${resets.length})`)
    }
    const notes = received.filter((entry) => entry.event === 'note')
    // Across a restart that lost the data, a publish in flight at the kill may have run in the old epoch
    // and, re-sent with a token the empty Redis no longer knows, again in the new one: a copy on each
    // side of the reset, never two on one side.
    const firstReset = received.findIndex((entry) => entry.event === 'reset')
    const twice = notes.filter((note, i) => notes.findIndex((other) => other.n === note.n) !== i)
    const acrossReset = (note: Received) => firstReset >= 0 && received.indexOf(notes.find((other) => other.n === note.n) as Received) < firstReset && received.indexOf(note) > firstReset
    t.same(twice.filter((note) => !(lostHistory && acrossReset(note))).map((note) => note.n), [], `${label}: no event twice`)
    const never = notes.filter((note) => byN.get(note.n as number)?.published === false)
    t.same(never.map((note) => note.n), [], `${label}: no event whose publish failed`)
    for (const topic of client.topics) {
      const got = [...new Set(notes.filter((note) => note.topic === topic).map((note) => byN.get(note.n as number) as Outcome))]
      const known = got.filter((outcome) => outcome.published === true)
      // Offset order within each epoch, and epochs one after the other.
      const epochs = [...new Set(known.map((outcome) => outcome.epoch))]
      const ordered = known.every((outcome, i) => i === 0 || outcome.epoch !== known[i - 1].epoch || (outcome.offset as number) > (known[i - 1].offset as number))
      t.ok(ordered && epochs.length <= (lostHistory ? 2 : 1), `${label} ${topic}: in offset order (${epochs.length} epoch(s))`)
      const published = rig.outcomes.filter((outcome) => outcome.topic === topic && outcome.published === true)
      const missing = published.filter((outcome) => !known.includes(outcome))
      if (!lostHistory) {
        t.same(missing.map((outcome) => outcome.n), [], `${label} ${topic}: every published event`)
      } else {
        // What is missing belongs to the old epoch and was reported by the reset (history really lost).
        const newest = published[published.length - 1]?.epoch
        t.same(missing.filter((outcome) => outcome.epoch === newest).map((outcome) => outcome.n), [], `${label} ${topic}: every event of the new epoch`)
        if (missing.length > 0) t.ok(resets.length > 0, `${label} ${topic}: what the old epoch lost is covered by a reset`)
      }
    }
  }
}
