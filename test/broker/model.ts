/**
 * The model-based test of the broker (issue 11): fast-check generates sequences of joins, leaves, page
 * reloads, resumes, publishes (to one topic and several at once, alone and in concurrent bursts), churn
 * (a join and leave nobody waits for), history expiry and - through small retention - history trim, and
 * runs them against a real broker and a small reference model side by side. After every step it waits
 * until the broker is quiet and checks:
 *
 * - every client's chain of connections (a connection and the resumes from its last id) got exactly the
 *   events published to its topics since the chain began, in publish order, each once - or, on a resume,
 *   one `reset`, and only when the model says history could not cover the cursor (trimmed or expired);
 * - a fresh subscription opens at the topics' heads; no live `reset` without a cause;
 * - no topic is listened to without a local subscriber, and none with subscribers is not (broker and
 *   backend: the memory test backend's listen set, Redis' PUBSUB CHANNELS).
 *
 * A failure prints fast-check's seed and path: `MODEL_SEED=<seed> MODEL_PATH=<path>` replays it.
 */
import fc from 'fast-check'
import type { Broker, TopicEvent } from '../../lib/index.js'
import { decodeCursor, topicSetKey } from '../../lib/broker/cursor.js'
import { EVENT_OVERHEAD_BYTES } from '../../lib/broker/contract.js'

export const TOPICS = ['a', 'b', 'c', 'd'] as const
const EVENT = 'e'
/** Every event's data is a 6-digit string: each costs history the same, so the model knows what is kept. */
const DATA_CHARS = 8
const EVENT_COST = EVENT_OVERHEAD_BYTES + EVENT.length + DATA_CHARS

export interface RetentionSettings { historySize: number, historyBytes: number }

export interface ModelBackend {
  name: string
  /** Live delivery follows publish order across topics (one process or one Redis); a Cluster's shards do not. */
  strictOrder: boolean
  make: (retention: RetentionSettings, latency: () => number) => Promise<Broker>
  /** Drops a topic's history and offsets (what retention expiry does). */
  expire: (broker: Broker, topic: string) => Promise<void>
  /** The topics the backend itself listens to, when it can tell. */
  backendListening?: (broker: Broker) => Promise<string[]>
  /** Cuts the broker's subscriber connection (Redis: CLIENT KILL TYPE pubsub); it reconnects and catches up. */
  killSubscriber?: (broker: Broker) => Promise<void>
  /** How long a step may take to settle. */
  settleMs?: number
}

interface Copy { gen: number, offset: number }
interface Published { topics: string[], copies: Map<string, Copy> }
interface TopicModel { gen: number, head: number, epoch: string }

interface Session {
  iterator: AsyncIterableIterator<TopicEvent>
  items: TopicEvent[]
  processed: number
  pump: Promise<void>
  ended: boolean
}

interface Client {
  topics: string[]
  session: Session | undefined
  /** Index of the first publish the chain must have. */
  chainStart: number
  chainHeads: Map<string, Copy>
  delivered: number[]
  lastDelivered: number
  lastId: string | undefined
  excluded: Set<number>
}

export class World {
  readonly broker: Broker
  readonly backend: ModelBackend
  readonly retention: RetentionSettings
  readonly kept: number
  readonly published: Published[] = []
  readonly topics = new Map<string, TopicModel>()
  readonly clients: Client[]
  private readonly pending: Array<Promise<unknown>> = []
  readonly log: string[] = []

  constructor (broker: Broker, backend: ModelBackend, retention: RetentionSettings, clientTopics: string[][]) {
    this.broker = broker
    this.backend = backend
    this.retention = retention
    this.kept = Math.min(retention.historySize, Math.ceil(retention.historyBytes / EVENT_COST))
    for (const topic of TOPICS) this.topics.set(topic, { gen: 0, head: 0, epoch: '' })
    this.clients = clientTopics.map((topics) => ({
      topics: [...new Set(topics)].sort(),
      session: undefined,
      chainStart: 0,
      chainHeads: new Map(),
      delivered: [],
      lastDelivered: -1,
      lastId: undefined,
      excluded: new Set()
    }))
  }

  fail (message: string): never {
    throw new Error(`${message}\n  steps: ${this.log.join(' ; ')}`)
  }

  private heads (): Map<string, Copy> {
    return new Map([...this.topics].map(([topic, model]) => [topic, { gen: model.gen, offset: model.head }]))
  }

  // ------------------------------------------------------------------ publishing

  /** Starts a publish; the model records it in call order (the order the backend applies it). */
  startPublish (topics: string[]): Promise<void> {
    const index = this.published.length
    const entry: Published = { topics, copies: new Map() }
    this.published.push(entry)
    const data = String(index).padStart(6, '0')
    const gens = topics.map((topic) => (this.topics.get(topic) as TopicModel).gen)
    return this.broker.publish(topics, EVENT, data).then((results) => {
      results.forEach((result, i) => {
        const topic = topics[i]
        const model = this.topics.get(topic) as TopicModel
        if (result.topic !== topic) this.fail(`publish ${index}: result ${i} is for ${result.topic}, not ${topic}`)
        if (model.gen !== gens[i]) this.fail(`publish ${index}: ${topic} expired while it was published`)
        if (model.epoch !== '' && result.epoch !== model.epoch) this.fail(`publish ${index}: ${topic} changed epoch ${model.epoch} -> ${result.epoch} without expiry`)
        if (this.backend.strictOrder && result.offset !== model.head + 1) this.fail(`publish ${index}: ${topic} offset ${result.offset}, expected ${model.head + 1}`)
        model.epoch = result.epoch
        model.head = Math.max(model.head, result.offset)
        entry.copies.set(topic, { gen: model.gen, offset: result.offset })
      })
    })
  }

  async expire (topic: string): Promise<void> {
    await this.backend.expire(this.broker, topic)
    const model = this.topics.get(topic) as TopicModel
    model.gen++
    model.head = 0
    model.epoch = ''
  }

  /** A subscriber that joins and leaves at once (a page reload nobody waits for). */
  churn (topic: string, holdMs = 0): void {
    const iterator = this.broker.subscribe([topic])
    const first = iterator.next().catch(() => undefined)
    const leave = () => { void iterator.return().then(() => first).then(() => resolve()) }
    let resolve: () => void = () => {}
    this.pending.push(new Promise<void>((done) => {
      resolve = done
      if (holdMs === 0) setImmediate(leave)
      else setTimeout(leave, holdMs)
    }))
  }

  /**
   * Joins, leaves and churn of several clients at once, each after its own delay: the interleavings of
   * the reconcile loop with the backend's latency (issue 11 #1 was one of them).
   */
  async together (actions: Array<{ kind: 'toggle' | 'churn', target: number, delayMs: number, holdMs: number }>): Promise<void> {
    const used = new Set<number>()
    const runs: Array<Promise<void>> = []
    for (const action of actions) {
      const delay = new Promise<void>((resolve) => action.delayMs === 0 ? setImmediate(resolve) : setTimeout(resolve, action.delayMs))
      if (action.kind === 'churn') {
        const topic = TOPICS[action.target % TOPICS.length]
        runs.push(delay.then(() => this.churn(topic, action.holdMs)))
        continue
      }
      const c = action.target % this.clients.length
      if (used.has(c)) continue
      used.add(c)
      const joining = !this.connected(c)
      runs.push(delay.then(() => joining ? this.resume(c) : this.leave(c)))
    }
    await Promise.all(runs)
  }

  // ------------------------------------------------------------------ clients

  connected (c: number): boolean {
    return this.clients[c].session !== undefined
  }

  private open (client: Client, lastEventId: string | undefined): Session {
    const iterator = this.broker.subscribe(client.topics, lastEventId === undefined ? {} : { lastEventId })
    const session: Session = { iterator, items: [], processed: 0, pump: Promise.resolve(), ended: false }
    session.pump = (async () => {
      try {
        for await (const item of iterator) session.items.push(item)
      } catch (error) {
        session.items.push({ event: 'error', data: String(error), id: '' })
      } finally {
        session.ended = true
      }
    })()
    return session
  }

  private async firstItem (session: Session, what: string): Promise<TopicEvent> {
    await this.until(() => session.items.length > 0 || session.ended, `${what}: the first item`)
    if (session.items.length === 0) this.fail(`${what}: the subscription ended before its first item`)
    session.processed = 1
    return session.items[0]
  }

  /** A fresh connection: no Last-Event-ID. Starts a new chain at the topics' heads. */
  async connectFresh (c: number): Promise<void> {
    const client = this.clients[c]
    const heads = this.heads()
    const session = this.open(client, undefined)
    client.session = session
    const first = await this.firstItem(session, `client ${c} fresh`)
    if (first.event !== 'subscribed') this.fail(`client ${c} fresh: opened with ${first.event} ${JSON.stringify(first.data)}`)
    const decoded = decodeCursor(first.id, topicSetKey(client.topics), client.topics.length)
    if (typeof decoded === 'string') this.fail(`client ${c} fresh: its cursor is ${decoded}`)
    client.topics.forEach((topic, i) => {
      const head = (heads.get(topic) as Copy).offset
      if (decoded.offsets[i] !== head) this.fail(`client ${c} fresh: opened at ${topic}=${decoded.offsets[i]}, the head is ${head}`)
    })
    this.newChain(client, heads)
    client.lastId = first.id
  }

  private newChain (client: Client, heads: Map<string, Copy>): void {
    client.chainStart = this.published.length
    client.chainHeads = heads
    client.delivered = []
    client.lastDelivered = -1
    client.excluded = new Set()
  }

  /** The client's position in `topic` after its last delivered event: the lowest and highest it can be. */
  private positionBounds (client: Client, topic: string): [Copy, Copy] {
    const head = client.chainHeads.get(topic) as Copy
    let before = head
    let position = head
    const last = client.lastDelivered
    for (let i = client.chainStart; i <= last; i++) {
      const copy = this.published[i].copies.get(topic)
      if (copy === undefined) continue
      if (i < last) before = copy
      position = copy
    }
    // The copy of the last event's own publish may or may not have been counted when it was sent; in a
    // Cluster the copies on other shards may not have arrived at all.
    return [this.backend.strictOrder ? before : head, position]
  }

  private needsReset (position: Copy, topic: string): boolean {
    const now = this.topics.get(topic) as TopicModel
    if (position.offset > 0 && position.gen !== now.gen) return true
    const from = position.gen === now.gen ? position.offset : 0
    const firstKept = now.head - this.kept + 1
    return from < now.head && from + 1 < firstKept
  }

  /** Resumes with the client's last id: exactly what it missed, or one reset when the model allows one. */
  async resume (c: number): Promise<void> {
    const client = this.clients[c]
    if (client.lastId === undefined) return this.connectFresh(c)
    let required = false
    let permitted = false
    for (const topic of client.topics) {
      const [low, high] = this.positionBounds(client, topic)
      const lowNeeds = this.needsReset(low, topic)
      const highNeeds = this.needsReset(high, topic)
      if (lowNeeds && highNeeds) required = true
      if (lowNeeds || highNeeds) permitted = true
    }
    const heads = this.heads()
    const session = this.open(client, client.lastId)
    client.session = session
    const first = await this.firstItem(session, `client ${c} resume`)
    if (first.event === 'reset') {
      if (!permitted) this.fail(`client ${c} resume: reset ${JSON.stringify(first.data)} though history covers its cursor`)
      this.newChain(client, heads)
    } else if (first.event === 'subscribed') {
      if (required) this.fail(`client ${c} resume: no reset though history cannot cover its cursor (kept ${this.kept})`)
      // Events of an epoch that expired while the client saw nothing of its topic are gone with it
      // (only possible after the topic was idle for historyTtlSeconds: outside the resume window).
      const set = new Set(client.topics)
      for (let i = Math.max(client.chainStart, client.lastDelivered + 1); i < this.published.length; i++) {
        const publish = this.published[i]
        const via = publish.topics.find((topic) => set.has(topic))
        if (via === undefined) continue
        const copy = publish.copies.get(via)
        if (copy !== undefined && copy.gen < (this.topics.get(via) as TopicModel).gen) client.excluded.add(i)
      }
    } else {
      this.fail(`client ${c} resume: opened with ${first.event} ${JSON.stringify(first.data)}`)
    }
    client.lastId = first.id
  }

  async leave (c: number): Promise<void> {
    const client = this.clients[c]
    const session = client.session as Session
    client.session = undefined
    await session.iterator.return?.()
    await session.pump
    this.absorb(c, client, session)
  }

  /** A page reload: leave and resume in the same tick. */
  async reload (c: number): Promise<void> {
    const client = this.clients[c]
    const session = client.session as Session
    client.session = undefined
    const closing = session.iterator.return?.()
    this.absorb(c, client, session)
    await this.resume(c)
    await closing
    await session.pump
    // Items that arrived between the absorb and the close were never seen by the (reloaded) page.
  }

  /** Takes a session's new items into its client's chain. */
  private absorb (c: number, client: Client, session: Session): void {
    for (; session.processed < session.items.length; session.processed++) {
      const item = session.items[session.processed]
      if (item.event !== EVENT) this.fail(`client ${c}: unexpected ${item.event} ${JSON.stringify(item.data)} after ${client.delivered.length} events`)
      const index = Number(item.data)
      client.delivered.push(index)
      client.lastDelivered = Math.max(client.lastDelivered, index)
      client.lastId = item.id
    }
  }

  private expected (client: Client): number[] {
    const set = new Set(client.topics)
    const out: number[] = []
    for (let i = client.chainStart; i < this.published.length; i++) {
      if (client.excluded.has(i)) continue
      if (this.published[i].topics.some((topic) => set.has(topic))) out.push(i)
    }
    return out
  }

  // ------------------------------------------------------------------ settling and checking

  async until (check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + (this.backend.settleMs ?? 10_000)
    while (!check()) {
      if (Date.now() > deadline) this.fail(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
  }

  /** Waits until the broker is quiet and every connected client has what it should, then checks it all. */
  async settle (): Promise<void> {
    await Promise.all(this.pending.splice(0))
    const reconciling = () => (this.broker as unknown as { reconciling: unknown }).reconciling !== undefined
    await this.until(() => !reconciling(), 'the reconcile loop to finish')
    for (let c = 0; c < this.clients.length; c++) {
      const client = this.clients[c]
      const session = client.session
      if (session === undefined) continue
      const want = this.expected(client).length
      await this.until(() => client.delivered.length + session.items.length - session.processed >= want || session.ended,
        `client ${c} to have ${want} events (has ${client.delivered.length + session.items.length - session.processed})`)
      // A few turns for duplicates to show up.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
      this.absorb(c, client, session)
      if (session.ended) this.fail(`client ${c}: its subscription ended`)
    }
    for (let c = 0; c < this.clients.length; c++) this.checkChain(c)
    await this.checkListening()
  }

  private checkChain (c: number): void {
    const client = this.clients[c]
    if (client.lastId === undefined) return
    const expected = this.expected(client)
    const got = client.delivered
    if (new Set(got).size !== got.length) this.fail(`client ${c}: duplicates in ${JSON.stringify(got)}`)
    const complete = client.session !== undefined
    if (this.backend.strictOrder) {
      const want = complete ? expected : expected.slice(0, got.length)
      if (JSON.stringify(got) !== JSON.stringify(want)) this.fail(`client ${c} (${client.topics.join(',')}): got ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}${complete ? '' : ' (a prefix: disconnected)'}`)
    } else {
      const allowed = new Set(expected)
      for (const index of got) if (!allowed.has(index)) this.fail(`client ${c}: got ${index}, not expected (${JSON.stringify(expected)})`)
      if (complete && got.length !== expected.length) this.fail(`client ${c}: got ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`)
      // Each topic's own order holds for the events delivered through it. (An event published to topics on
      // different shards arrives through the first of them, in that topic's order: not in the others'.)
      const set = new Set(client.topics)
      for (const topic of client.topics) {
        const through = got.filter((index) => this.published[index].topics.find((name) => set.has(name)) === topic)
        const offsets = through.map((index) => this.published[index].copies.get(topic) as Copy)
        for (let i = 1; i < offsets.length; i++) {
          const [a, b] = [offsets[i - 1], offsets[i]]
          if (a.gen === b.gen && a.offset >= b.offset) this.fail(`client ${c}: ${topic} out of order in ${JSON.stringify(got)}`)
        }
      }
    }
  }

  private async checkListening (): Promise<void> {
    const wanted = new Set<string>()
    for (const client of this.clients) if (client.session !== undefined) for (const topic of client.topics) wanted.add(topic)
    const want = [...wanted].sort()
    const listened = this.broker.listenedTopics().sort()
    if (JSON.stringify(listened) !== JSON.stringify(want)) this.fail(`broker listens to ${JSON.stringify(listened)}, subscribers want ${JSON.stringify(want)}`)
    for (const topic of TOPICS) {
      const count = this.broker.subscriberCount(topic)
      const sessions = this.clients.filter((client) => client.session !== undefined && client.topics.includes(topic)).length
      if (count !== sessions) this.fail(`${topic}: ${count} local subscribers, ${sessions} connected clients`)
    }
    if (this.backend.backendListening !== undefined) {
      // After a cut subscriber connection the backend listens again once it has reconnected: wait for it.
      const deadline = Date.now() + (this.backend.settleMs ?? 10_000)
      while (true) {
        const backend = (await this.backend.backendListening(this.broker)).sort()
        if (JSON.stringify(backend) === JSON.stringify(want)) break
        if (Date.now() > deadline) this.fail(`the backend listens to ${JSON.stringify(backend)}, subscribers want ${JSON.stringify(want)}`)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
  }

  async close (): Promise<void> {
    for (const client of this.clients) await client.session?.iterator.return?.()
    await this.broker.close()
  }
}

// ------------------------------------------------------------------ commands

type Cmd = fc.AsyncCommand<World, World>

const topicList = fc.shuffledSubarray([...TOPICS], { minLength: 1, maxLength: 3 })

class Connect implements Cmd {
  constructor (readonly c: number, readonly fresh: boolean) {}
  check (m: World) { return this.c < m.clients.length && !m.connected(this.c) }
  async run (_m: World, w: World) {
    w.log.push(this.toString())
    if (this.fresh) await w.connectFresh(this.c)
    else await w.resume(this.c)
    await w.settle()
  }

  toString () { return `${this.fresh ? 'fresh' : 'resume'}(${this.c})` }
}

class Leave implements Cmd {
  constructor (readonly c: number) {}
  check (m: World) { return this.c < m.clients.length && m.connected(this.c) }
  async run (_m: World, w: World) { w.log.push(this.toString()); await w.leave(this.c); await w.settle() }
  toString () { return `leave(${this.c})` }
}

class Reload implements Cmd {
  constructor (readonly c: number) {}
  check (m: World) { return this.c < m.clients.length && m.connected(this.c) }
  async run (_m: World, w: World) { w.log.push(this.toString()); await w.reload(this.c); await w.settle() }
  toString () { return `reload(${this.c})` }
}

class Publish implements Cmd {
  constructor (readonly topics: string[][]) {}
  check () { return true }
  async run (_m: World, w: World) {
    w.log.push(this.toString())
    // Several at once: concurrent publishes, as Promise.all in a handler makes them.
    await Promise.all(this.topics.map((topics) => w.startPublish(topics)))
    await w.settle()
  }

  toString () { return `publish(${this.topics.map((topics) => topics.join('+')).join(' ')})` }
}

class Expire implements Cmd {
  constructor (readonly topic: string) {}
  // Retention expires idle topics: no connected client has it.
  check (m: World) { return m.clients.every((client) => client.session === undefined || !client.topics.includes(this.topic)) }
  async run (_m: World, w: World) { w.log.push(this.toString()); await w.expire(this.topic); await w.settle() }
  toString () { return `expire(${this.topic})` }
}

class Churn implements Cmd {
  constructor (readonly topic: string) {}
  check () { return true }
  async run (_m: World, w: World) { w.log.push(this.toString()); w.churn(this.topic); await w.settle() }
  toString () { return `churn(${this.topic})` }
}

/** Churn that overlaps the next steps: it settles only at the next check. */
class ChurnThenJoin implements Cmd {
  constructor (readonly topic: string, readonly c: number) {}
  check (m: World) { return this.c < m.clients.length && !m.connected(this.c) }
  async run (_m: World, w: World) {
    w.log.push(this.toString())
    w.churn(this.topic)
    await w.resume(this.c)
    await w.settle()
  }

  toString () { return `churn(${this.topic})+resume(${this.c})` }
}

class Together implements Cmd {
  constructor (readonly actions: Array<{ kind: 'toggle' | 'churn', target: number, delayMs: number, holdMs: number }>) {}
  check () { return true }
  async run (_m: World, w: World) { w.log.push(this.toString()); await w.together(this.actions); await w.settle() }
  toString () { return `together(${this.actions.map((a) => `${a.kind}:${a.target}@${a.delayMs}+${a.holdMs}`).join(' ')})` }
}

/**
 * The subscriber connection is cut and events are published while it reconnects: connected clients must
 * get them from the catch-up, exactly (fewer per topic than history keeps, so no reset is allowed).
 */
class KillSubscriber implements Cmd {
  constructor (readonly topics: string[][]) {}
  check (m: World) { return m.backend.killSubscriber !== undefined }
  async run (_m: World, w: World) {
    w.log.push(this.toString())
    await (w.backend.killSubscriber as (broker: Broker) => Promise<void>)(w.broker)
    const perTopic = new Map<string, number>()
    for (const topics of this.topics) {
      if (topics.some((topic) => (perTopic.get(topic) ?? 0) + 1 >= w.kept)) continue
      for (const topic of topics) perTopic.set(topic, (perTopic.get(topic) ?? 0) + 1)
      await w.startPublish(topics)
    }
    await w.settle()
  }

  toString () { return `kill-subscriber(${this.topics.map((topics) => topics.join('+')).join(' ')})` }
}

const CLIENTS = 4

export function commandsArbitrary (maxCommands: number): fc.Arbitrary<Iterable<Cmd>> {
  const client = fc.integer({ min: 0, max: CLIENTS - 1 })
  const topic = fc.constantFrom(...TOPICS)
  return fc.commands([
    fc.tuple(client, fc.boolean()).map(([c, fresh]) => new Connect(c, fresh)),
    client.map((c) => new Connect(c, false)),
    client.map((c) => new Leave(c)),
    client.map((c) => new Reload(c)),
    fc.array(topicList, { minLength: 1, maxLength: 1 }).map((topics) => new Publish(topics)),
    fc.array(topicList, { minLength: 1, maxLength: 1 }).map((topics) => new Publish(topics)),
    fc.array(topicList, { minLength: 2, maxLength: 12 }).map((topics) => new Publish(topics)),
    topic.map((t) => new Expire(t)),
    fc.array(topicList, { minLength: 0, maxLength: 4 }).map((topics) => new KillSubscriber(topics)),
    topic.map((t) => new Churn(t)),
    fc.tuple(topic, client).map(([t, c]) => new ChurnThenJoin(t, c)),
    ...[1, 2, 3].map(() => fc.array(fc.record({
      kind: fc.constantFrom('toggle' as const, 'churn' as const),
      target: fc.integer({ min: 0, max: CLIENTS - 1 }),
      delayMs: fc.constantFrom(0, 0, 5, 25, 30),
      holdMs: fc.constantFrom(0, 5, 20, 40)
    }), { minLength: 2, maxLength: 6 }).map((actions) => new Together(actions)))
  ], { maxCommands })
}

/**
 * Scenarios every run checks first (fast-check `examples`): the interleavings found by hand or by earlier
 * runs, kept so they are never lost to the luck of the draw.
 */
export function knownScenarios (): Array<[string[][], RetentionSettings, number[], Iterable<Cmd>]> {
  return [
    // Issue 11 #1: the last subscriber of a leaves while b is joined in the same batch; a page reload of a
    // during the UNSUBSCRIBE; a new client of a joins during b's SUBSCRIBE; then an event of a.
    [[['a'], ['b'], ['a'], ['c']], { historySize: 10, historyBytes: 10 * EVENT_COST }, [20], [
      new Connect(0, true),
      new Together([
        { kind: 'toggle', target: 0, delayMs: 0, holdMs: 0 },
        { kind: 'toggle', target: 1, delayMs: 0, holdMs: 0 },
        { kind: 'churn', target: 0, delayMs: 5, holdMs: 0 },
        { kind: 'toggle', target: 2, delayMs: 25, holdMs: 0 }
      ]),
      new Publish([['a']]),
      new Leave(2)
    ]]
  ]
}

export interface ModelRunOptions {
  seed?: number
  path?: string
  numRuns: number
  maxCommands: number
  /** Stop starting runs after this time (ms since the epoch). */
  interruptAfterTimeLimit?: number
}

/** The property: a scenario (clients' topic sets, retention, latency) and a command sequence. */
export function brokerProperty (backend: ModelBackend, maxCommands: number) {
  return fc.asyncProperty(
    fc.array(fc.subarray([...TOPICS], { minLength: 1, maxLength: 2 }), { minLength: CLIENTS, maxLength: CLIENTS }),
    fc.record({ historySize: fc.integer({ min: 2, max: 40 }), historyBytes: fc.integer({ min: 1, max: 40 }).map((n) => n * EVENT_COST) }),
    fc.array(fc.constantFrom(0, 2, 20, 20), { minLength: 1, maxLength: 16 }),
    commandsArbitrary(maxCommands),
    async (clientTopics, retention, latencies, commands) => {
      let call = 0
      const latency = () => latencies[call++ % latencies.length]
      const broker = await backend.make(retention, latency)
      const world = new World(broker, backend, retention, clientTopics)
      try {
        await fc.asyncModelRun(() => ({ model: world, real: world }), commands)
      } finally {
        await world.close()
      }
    })
}

export async function runModel (backend: ModelBackend, options: ModelRunOptions): Promise<void> {
  await fc.assert(brokerProperty(backend, options.maxCommands), {
    numRuns: options.numRuns,
    examples: options.path === undefined ? knownScenarios() : [],
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
    ...(options.interruptAfterTimeLimit === undefined ? {} : { interruptAfterTimeLimit: options.interruptAfterTimeLimit })
  })
}
