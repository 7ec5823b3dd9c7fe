/**
 * The event broker: the behaviour every backend shares - validation, the local fan-out, catch-up - over
 * the abstract calls a backend implements (`append`, `listen`, `positions`, `history`...). The types it
 * trades in live in contract.ts, which subscriptions depend on instead of this module.
 *
 * A backend stores each published event with a dense offset per topic (`append`), tells the broker when
 * an event arrives (`receive`), and reads history (`history`). The broker keeps one TopicState per topic
 * this process listens to: its subscribers, and the last offset delivered here (`head`). Every event is
 * delivered to local subscribers exactly once and in offset order: an event that arrives ahead of `head`
 * waits while the gap is read from history; an event at or below `head` is a duplicate and dropped. The
 * same catch-up runs for every topic after the backend reconnects, so an outage costs latency, not events.
 *
 * Listening is reference-counted: a topic is listened to (SUBSCRIBE) when it gains its first local
 * subscriber and released when it loses its last. One reconcile loop applies those changes in order and
 * in batches, so a join racing a leave cannot lose the subscription.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { FVIEWS_ERR_BROKER_CLOSED, FVIEWS_ERR_BROKER_UNAVAILABLE, FVIEWS_ERR_SSE_INVALID_FIELD, FVIEWS_ERR_TOPIC_INVALID } from '../errors.js'
import { assertSafeField } from '../sse/encoder.js'
import { MAX_SUBSCRIPTION_TOPICS } from './cursor.js'
import { BrokerMessage, mergeByTime, MessageRun } from './message.js'
import { TopicEventIterator, type SubscribeOptions } from './topic-events.js'
import { TurnClock } from './turn-clock.js'
import {
  DEFAULT_HISTORY_BYTES, DEFAULT_HISTORY_WINDOW_SECONDS, EVENT_OVERHEAD_BYTES, HISTORY_PAGE, TopicState,
  type BrokerHealth, type BrokerOptions, type BrokerStats, type PublishResult, type TopicHistory, type TopicSource, type TopicSubscriber, type Waiter
} from './contract.js'
import { printableTopic, topicProblem } from './topic-names.js'
import type { AnyTopicCatalog, TopicEventDataOf, TopicEventNameOf, TopicNameOf } from './catalog.js'

/** The topics of one publish, deduplicated in their order; throws on a bad one. */
export function publishTopics (topics: string | readonly string[]): string[] {
  const list = typeof topics === 'string' ? [topics] : [...new Set(topics)]
  if (list.length === 0) throw new FVIEWS_ERR_TOPIC_INVALID('publish to at least one topic')
  if (list.length > MAX_SUBSCRIPTION_TOPICS) throw new FVIEWS_ERR_TOPIC_INVALID(`one publish reaches at most ${MAX_SUBSCRIPTION_TOPICS} topics, got ${list.length}`)
  for (const topic of list) {
    const problem = topicProblem(topic)
    if (problem !== undefined) throw new FVIEWS_ERR_TOPIC_INVALID(`'${printableTopic(String(topic))}': ${problem}`)
  }
  return list
}

export function newEpoch (): string {
  return randomBytes(6).readUIntBE(0, 6).toString(36)
}

export abstract class Broker<out C extends AnyTopicCatalog | undefined = AnyTopicCatalog | undefined> implements TopicSource {
  abstract readonly backend: string
  /** The topic catalog every publish and subscription is checked against, if any. */
  readonly catalog: C
  readonly topicPrefix: string
  readonly historySize: number
  readonly historyBytes: number
  readonly historyWindowSeconds: number
  readonly historyTtlSeconds: number
  readonly stats: BrokerStats = { publishedEvents: 0, receivedEvents: 0, reconnects: 0, activeTopics: 0, gapsFilled: 0, eventsLost: 0 }
  protected log: FastifyBaseLogger | undefined
  protected closed = false
  protected readonly topics = new Map<string, TopicState>()
  private readonly dirty = new Set<TopicState>()
  private reconciling: Promise<void> | undefined
  private lastPublishTime = 0
  /** @internal */
  readonly turns = new TurnClock()
  /**
   * Events accepted in this turn and their topics, in acceptance order, delivered together at the end of
   * the turn's synchronous work (a microtask): a burst of one topic reaches each subscriber in one call.
   */
  private acceptedStates: TopicState[] = []
  private acceptedMessages: BrokerMessage[] = []

  constructor (options: BrokerOptions<C> = {}) {
    this.catalog = options.topics as C
    this.topicPrefix = options.topicPrefix ?? ''
    this.historyBytes = options.historyBytes ?? DEFAULT_HISTORY_BYTES
    this.historyWindowSeconds = options.historyWindowSeconds ?? DEFAULT_HISTORY_WINDOW_SECONDS
    this.historySize = options.historySize ?? Math.ceil(this.historyBytes / EVENT_OVERHEAD_BYTES)
    this.historyTtlSeconds = options.historyTtlSeconds ?? 3600
    this.log = options.logger
  }

  /**
   * The app's logger, for a broker built without one (`new RedisBroker({ url })` handed to the plugin):
   * what the broker skips or refuses is logged somewhere.
   * @internal
   */
  adoptLogger (log: FastifyBaseLogger): void {
    this.log ??= log
  }

  /** Connects the backend; createApp calls it when the app starts. */
  abstract connect (): Promise<void>
  /**
   * Stores one copy of the event in each topic with the topic's next offset, every copy carrying the
   * topic list, and hands them to every instance's subscribers; atomically where the backend can.
   */
  protected abstract append (topics: string[], event: string, json: string): Promise<PublishResult[]>
  /** Starts receiving the topics' events. */
  protected abstract listen (topics: string[]): Promise<void>
  protected abstract unlisten (topics: string[]): Promise<void>
  /** Current epoch and last offset of each topic ('' and 0 for a topic without events). */
  protected abstract positions (topics: string[]): Promise<Array<{ epoch: string, head: number }>>
  /** The topic's events after `after`, in order, at most `limit` (default HISTORY_PAGE). */
  abstract history (topic: string, after: number, limit?: number): Promise<TopicHistory>
  abstract health (): BrokerHealth

  async close (): Promise<void> {
    this.closed = true
    for (const state of this.topics.values()) {
      for (const waiter of state.waiters) waiter.reject(new FVIEWS_ERR_BROKER_CLOSED())
      state.waiters = []
    }
  }

  /**
   * Publishes `data` (any JSON value) as `event` on a topic, or once on several topics (`['tasks',
   * 'task:7']`): a client subscribed to several of them gets it once (issue 11 #18). Resolves once the
   * backend has accepted it, with the position of each topic's copy.
   */
  async publish<N extends TopicNameOf<C>, E extends TopicEventNameOf<C, N>> (topic: N, event: E, data: TopicEventDataOf<C, N, E>): Promise<PublishResult>
  async publish<N extends TopicNameOf<C>, E extends TopicEventNameOf<C, N>> (topics: readonly N[], event: E, data: TopicEventDataOf<C, N, E>): Promise<PublishResult[]>
  async publish<N extends TopicNameOf<C>, E extends TopicEventNameOf<C, N>> (topics: N | readonly N[], event: E, data: TopicEventDataOf<C, N, E>): Promise<PublishResult | PublishResult[]>
  async publish (topics: string | readonly string[], event: string, data: unknown): Promise<PublishResult | PublishResult[]> {
    if (this.closed) throw new FVIEWS_ERR_BROKER_CLOSED()
    const list = publishTopics(topics)
    if (typeof event !== 'string' || event === '') throw new FVIEWS_ERR_SSE_INVALID_FIELD('event', 'a published event needs a name')
    assertSafeField('event', event)
    // With a catalog, the data leaves as its event's schema writes it (validated; undeclared properties dropped).
    const json = this.catalog === undefined ? JSON.stringify(data === undefined ? null : data) : this.catalog.encode(list, event, data)
    const results = await this.append(list, event, json)
    this.stats.publishedEvents++
    return typeof topics === 'string' ? results[0] : results
  }

  /**
   * The topics' events as an async iterable, for a view's `events()` to `yield*` from:
   * `yield* this.app.broker.subscribe(['tasks'], { signal: this.signal, lastEventId: this.lastEventId })`.
   */
  subscribe<T = unknown> (topics: readonly string[], options: SubscribeOptions = {}): TopicEventIterator<T> {
    if (topics.length === 0) throw new FVIEWS_ERR_TOPIC_INVALID('subscribe to at least one topic')
    if (topics.length > MAX_SUBSCRIPTION_TOPICS) throw new FVIEWS_ERR_TOPIC_INVALID(`subscribe to at most ${MAX_SUBSCRIPTION_TOPICS} topics, got ${topics.length}`)
    for (const topic of topics) {
      const problem = topicProblem(topic)
      if (problem !== undefined) throw new FVIEWS_ERR_TOPIC_INVALID(`'${printableTopic(topic)}': ${problem}`)
      this.catalog?.expect(topic)
    }
    return new TopicEventIterator<T>(this as unknown as Broker, topics, options)
  }

  /** Adds a subscriber to topics; resolves once it has begun on every one (the backend listens). */
  join (subscriber: TopicSubscriber, topics: readonly string[]): Promise<void> {
    if (this.closed) return Promise.reject(new FVIEWS_ERR_BROKER_CLOSED())
    const pending: Array<Promise<void>> = []
    for (const topic of topics) {
      let state = this.topics.get(topic)
      if (state === undefined) {
        state = new TopicState(topic)
        this.topics.set(topic, state)
      }
      state.subscribers.add(subscriber)
      if (state.ready) {
        subscriber.begin(state)
      } else {
        const target = state
        pending.push(new Promise<void>((resolve, reject) => target.waiters.push({ subscriber, resolve, reject })))
        this.markDirty(state)
      }
    }
    return Promise.all(pending).then(() => {})
  }

  /** Removes a subscriber; a topic left without local subscribers is released. */
  leave (subscriber: TopicSubscriber, topics: readonly string[]): void {
    for (const topic of topics) {
      const state = this.topics.get(topic)
      if (state === undefined) continue
      state.subscribers.delete(subscriber)
      if (state.waiters.length > 0) {
        // A subscriber that leaves while it waits has nothing to wait for any more.
        const keep: Waiter[] = []
        for (const waiter of state.waiters) {
          if (waiter.subscriber === subscriber) waiter.resolve()
          else keep.push(waiter)
        }
        state.waiters = keep
      }
      if (state.subscribers.size === 0) this.markDirty(state)
    }
  }

  /**
   * The publish time of an event: ms since the epoch, strictly increasing for this broker. A resume across
   * topics merges by publish time; with whole milliseconds, events published in the same millisecond were
   * replayed grouped by topic name rather than in publish order (test/delivery/mass-reconnect.test.ts).
   */
  protected publishTime (): number {
    const now = Date.now()
    this.lastPublishTime = now > this.lastPublishTime ? now : this.lastPublishTime + 0.001
    return this.lastPublishTime
  }

  /**
   * The backend's current epoch and last offset of each topic - ahead of what this process delivered when
   * its subscriber lags (issue 11 #7: a cursor from a faster instance is not invalid for that).
   */
  heads (topics: string[]): Promise<Array<{ epoch: string, head: number }>> {
    return this.positions(topics)
  }

  /** Number of local subscribers of a topic (0 when not listened to). */
  subscriberCount (topic: string): number {
    return this.topics.get(topic)?.subscribers.size ?? 0
  }

  /** Topics this process listens to. */
  listenedTopics (): string[] {
    return [...this.topics.values()].filter((state) => state.listening).map((state) => state.topic)
  }

  /** A backend hands over every event it receives for a listened topic. */
  protected receive (message: BrokerMessage): void {
    const state = this.topics.get(message.topic)
    if (state === undefined || !state.listening) return
    this.stats.receivedEvents++
    if (!state.ready || state.catchingUp) {
      state.held.push(message)
      return
    }
    this.accept(state, message)
  }

  /**
   * After a reconnect: read what every listened topic missed from history, and deliver it merged across
   * topics by publish time - topic by topic, a client of several got them out of publish order (found by
   * the model-based test, test/broker/model.ts).
   */
  protected catchUpAll (): void {
    const states = [...this.topics.values()].filter((state) => state.ready && !state.catchingUp)
    if (states.length > 0) void this.catchUpTogether(states)
  }

  private async catchUpTogether (states: TopicState[]): Promise<void> {
    for (const state of states) state.catchingUp = true
    const again: TopicState[] = []
    try {
      const reads = await Promise.all(states.map((state) => this.readMissed(state).catch((error: unknown) => {
        this.log?.error({ err: error, topic: state.topic }, 'broker: catch-up from history failed; retrying on the next event or reconnect')
        return undefined
      })))
      const lists: BrokerMessage[][] = []
      reads.forEach((read, i) => {
        if (read === undefined) return
        lists.push(read.messages)
        if (read.full) again.push(states[i])
      })
      for (const message of mergeByTime(lists)) {
        const state = this.topics.get(message.topic)
        if (state !== undefined && state.listening) this.accept(state, message)
      }
    } finally {
      for (const state of states) {
        state.catchingUp = false
        if (state.held.length > 0 && !again.includes(state)) again.push(state)
      }
    }
    for (const state of again) void this.catchUp(state)
  }

  private accept (state: TopicState, message: BrokerMessage): void {
    if (message.epoch !== state.epoch) {
      // The topic's history was lost and restarted (Redis without persistence restarted, or it expired):
      // what this process had not yet delivered from the old epoch is gone.
      const hadEvents = state.epoch !== '' && state.head > 0
      state.epoch = message.epoch
      state.head = 0
      if (hadEvents) this.lose(state, 'epoch-changed')
    }
    if (message.offset <= state.head) return
    if (message.offset > state.head + 1) {
      state.held.push(message)
      void this.catchUp(state)
      return
    }
    state.head = message.offset
    // Refused by the catalog (a foreign publisher's copy, see foreign-screen.ts): the topic moves past it, no subscriber gets it.
    if (message.refused !== undefined) return
    if (this.acceptedMessages.length === 0) queueMicrotask(this.deliverAccepted)
    this.acceptedStates.push(state)
    this.acceptedMessages.push(message)
  }

  /**
   * Delivers what was accepted, in acceptance order, each run of one topic's consecutive events at once
   * (across topics the order is kept too: A1 B1 A2 is three runs). Subscribers are those of the topic now:
   * one that began meanwhile begins at `head`, past these events, and drops them as already sent.
   */
  private readonly deliverAccepted = (): void => {
    const states = this.acceptedStates
    const messages = this.acceptedMessages
    if (messages.length === 0) return
    this.acceptedStates = []
    this.acceptedMessages = []
    const now = Date.now()
    let start = 0
    while (start < messages.length) {
      const state = states[start]
      let end = start + 1
      while (end < messages.length && states[end] === state) end++
      if (end - start === 1) {
        const message = messages[start]
        for (const subscriber of state.subscribers) subscriber.deliver(message, now)
      } else {
        const run = new MessageRun(messages.slice(start, end))
        for (const subscriber of state.subscribers) {
          if (subscriber.deliverRun !== undefined) subscriber.deliverRun(run, now)
          else for (const message of run.messages) subscriber.deliver(message, now)
        }
      }
      start = end
    }
  }

  private lose (state: TopicState, reason: string): void {
    // What was accepted before the loss reaches subscribers before they hear of it.
    this.deliverAccepted()
    for (const subscriber of state.subscribers) subscriber.lost(state, reason)
  }

  /** Reads the topic's events after `head` from history, delivers them, then what was held meanwhile. */
  private async catchUp (state: TopicState): Promise<void> {
    if (state.catchingUp) return
    state.catchingUp = true
    let failed = false
    try {
      while (true) {
        // Events held before this read began were stored before they were announced, so a complete read
        // sees them (or reports them trimmed). One it did not reach was never published - garbage on a
        // shared channel - and is dropped: waiting for history to reach it read it again and again, forever
        // (test/delivery/malformed-messages.test.ts). Events that arrive during the read wait for the next.
        const heldBefore = new Set(state.held)
        const read = await this.readMissed(state)
        if (read === undefined) return
        for (const message of read.messages) this.accept(state, message)
        if (!read.full && heldBefore.size > 0 && state.held.some((message) => heldBefore.has(message))) {
          const kept = state.held.filter((message) => !heldBefore.has(message))
          this.log?.warn({ topic: state.topic, dropped: state.held.length - kept.length }, 'broker: dropped events ahead of the topic\'s history')
          state.held = kept
        }
        // Events that arrived while the last read was in flight may have opened a new gap; a full page
        // means history has more.
        if (state.held.length === 0 && !read.full) return
      }
    } catch (error) {
      failed = true
      this.log?.error({ err: error, topic: state.topic }, 'broker: catch-up from history failed; retrying')
    } finally {
      state.catchingUp = false
    }
    // Held events would otherwise wait for the topic's next event - forever on a quiet topic
    // (test/delivery/faults-catch-up.test.ts). Retried with backoff while events are held.
    if (failed) {
      state.catchUpRetryMs = Math.min(5000, (state.catchUpRetryMs || 125) * 2)
      setTimeout(() => {
        if (!this.closed && state.listening && !state.catchingUp && state.held.length > 0 && this.topics.get(state.topic) === state) void this.catchUp(state)
      }, state.catchUpRetryMs).unref()
    } else {
      state.catchUpRetryMs = 0
    }
  }

  /**
   * What a topic missed: its history after `head` (handling a new epoch or a trimmed gap, which reset its
   * live subscribers), then what was held while it was read; `full` when history has more.
   */
  private async readMissed (state: TopicState): Promise<{ messages: BrokerMessage[], full: boolean } | undefined> {
    const history = await this.history(state.topic, state.epoch === '' ? 0 : state.head)
    if (!state.listening) return undefined
    const held = state.held
    state.held = []
    let messages = history.messages
    if (history.epoch !== state.epoch && history.epoch !== '') {
      const hadEvents = state.epoch !== '' && state.head > 0
      state.epoch = history.epoch
      state.head = 0
      if (hadEvents) this.lose(state, 'epoch-changed')
      messages = (await this.history(state.topic, 0)).messages
    }
    const first = messages.find((message) => message.offset > state.head)
    if (first !== undefined && first.offset > state.head + 1) {
      this.stats.eventsLost += first.offset - state.head - 1
      state.head = first.offset - 1
      this.lose(state, 'history-trimmed')
    }
    this.stats.gapsFilled++
    const epoch = state.epoch
    return { messages: messages.filter((message) => message.epoch === epoch).concat(held), full: history.messages.length >= HISTORY_PAGE }
  }

  private markDirty (state: TopicState): void {
    this.dirty.add(state)
    if (this.reconciling === undefined) this.reconciling = this.reconcile()
  }

  /** Applies pending listen/release changes, in batches, one batch at a time. */
  private async reconcile (): Promise<void> {
    // Let the joins and leaves of this tick collect into one batch.
    await new Promise<void>((resolve) => setImmediate(resolve))
    try {
      while (this.dirty.size > 0) {
        const batch = [...this.dirty]
        this.dirty.clear()
        const release = batch.filter((state) => state.subscribers.size === 0 && state.listening)
        const forget = batch.filter((state) => state.subscribers.size === 0 && !state.listening)
        const acquire = batch.filter((state) => state.subscribers.size > 0 && !state.listening)
        for (const state of forget) this.forget(state)
        if (release.length > 0) await this.release(release)
        if (acquire.length > 0) await this.acquire(acquire)
      }
    } finally {
      this.reconciling = undefined
      this.stats.activeTopics = this.listenedTopics().length
      if (this.dirty.size > 0) this.reconciling = this.reconcile()
    }
  }

  private async release (states: TopicState[]): Promise<void> {
    for (const state of states) {
      state.listening = false
      state.ready = false
      state.held = []
    }
    try {
      if (!this.closed) await this.unlisten(states.map((state) => state.topic))
    } catch (error) {
      this.log?.warn({ err: error, topics: states.length }, 'broker: releasing topics failed (they are released on reconnect)')
    }
    // A subscriber may have joined while the release was in flight: the next batch listens again.
    for (const state of states) {
      if (state.subscribers.size > 0) this.dirty.add(state)
      else if (!state.listening) this.forget(state)
    }
  }

  /**
   * Drops a state nobody uses - only if it is still the topic's current one. A stale state left in a batch
   * deleted a newer state of its topic by name: its subscriber got `subscribed`, then nothing, and its
   * channel stayed subscribed after it left (issue 11 #1, test/broker/reconcile-race.test.ts).
   */
  private forget (state: TopicState): void {
    if (state.subscribers.size === 0 && !state.listening && this.topics.get(state.topic) === state) this.topics.delete(state.topic)
  }

  private async acquire (states: TopicState[]): Promise<void> {
    for (const state of states) {
      state.listening = true
      state.held = []
    }
    const topics = states.map((state) => state.topic)
    try {
      if (this.closed) throw new FVIEWS_ERR_BROKER_CLOSED()
      await this.listen(topics)
      const positions = await this.positions(topics)
      states.forEach((state, i) => {
        state.epoch = positions[i].epoch
        state.head = positions[i].head
        state.ready = true
        const waiters = state.waiters
        state.waiters = []
        for (const waiter of waiters) {
          waiter.subscriber.begin(state)
          waiter.resolve()
        }
        const held = state.held
        state.held = []
        for (const message of held) this.accept(state, message)
      })
    } catch (error) {
      this.log?.error({ err: error, topics: topics.length }, 'broker: listening to topics failed')
      const failure = (error as { code?: string }).code?.startsWith('FVIEWS_') === true
        ? error
        : new FVIEWS_ERR_BROKER_UNAVAILABLE(`could not subscribe: ${(error as Error).message}`)
      for (const state of states) {
        state.listening = false
        const waiters = state.waiters
        state.waiters = []
        for (const waiter of waiters) {
          state.subscribers.delete(waiter.subscriber)
          waiter.reject(failure)
        }
        if (state.subscribers.size > 0) this.dirty.add(state)
        else this.forget(state)
      }
      try { await this.unlisten(topics) } catch { /* the backend is down: nothing to release */ }
    }
  }
}
