/**
 * The broker contract (as undici's dispatcher.js beside dispatcher-base.js): the options, results and
 * per-topic state every backend and every subscriber shares, and `TopicSource` - the four calls a
 * subscription makes of a broker. `subscription.ts` and `topic-events.ts` depend on this module, not on
 * `broker.ts`, so the broker can build subscriptions without an import loop; the backends (`memory.ts`,
 * `redis.ts`) extend the Broker of `broker.ts` and take their types from here.
 */
import type { FastifyBaseLogger } from 'fastify'
import { topicSetKey } from './cursor.js'
import type { BrokerMessage, MessageRun } from './message.js'
import type { TurnClock } from './turn-clock.js'
import type { AnyTopicCatalog } from './catalog.js'

export interface BrokerOptions<C extends AnyTopicCatalog | undefined = AnyTopicCatalog | undefined> {
  /**
   * The topic catalog (`defineTopics`): publish is typed by it, every publish is validated and serialised
   * by its schemas, and a subscription to a name it does not know is refused. Without it, any topic.
   */
  topics?: C
  /** Isolates applications sharing one Redis: prefixes every key and channel. */
  topicPrefix?: string
  /**
   * Retention, per topic: every event of the last `historyWindowSeconds`, and of older events the newest
   * `historyBytes` - so a client closed for slowness (it lacks at most its byte budget) that reconnects
   * within the window resumes exactly. `historySize` is only a hard cap on the count.
   * An event's size is its name and data plus EVENT_OVERHEAD_BYTES (about its id and framing).
   */
  historyBytes?: number
  /** See historyBytes (default 60 s). */
  historyWindowSeconds?: number
  /** Hard cap of events kept per topic (default historyBytes / EVENT_OVERHEAD_BYTES: it never binds first). */
  historySize?: number
  /** History of a topic is dropped this long after its last event (default 3,600 s). */
  historyTtlSeconds?: number
  logger?: FastifyBaseLogger
}

/** Bytes of history per topic by default: 16 times the default 1 MiB stream budget. */
export const DEFAULT_HISTORY_BYTES = 16 * 1024 * 1024
export const DEFAULT_HISTORY_WINDOW_SECONDS = 60
/** What an event costs history beyond its name and data: about its `id:` line and SSE framing. */
export const EVENT_OVERHEAD_BYTES = 64
/**
 * What a client closed for slowness may lack beyond its byte budget: what its kernel socket buffers held
 * when the connection was cut (Linux' default tcp_wmem maximum is 4 MiB).
 */
export const SOCKET_ALLOWANCE_BYTES = 4 * 1024 * 1024
/** Most events one history read returns: catch-up and replay read in pages. */
export const HISTORY_PAGE = 1000

export interface PublishResult {
  topic: string
  epoch: string
  offset: number
}

export interface TopicHistory {
  /** The topic's current epoch ('' when it has no events). */
  epoch: string
  /** The events after the requested offset, in offset order (possibly fewer than asked: trimmed). */
  messages: BrokerMessage[]
}

export interface BrokerHealth {
  ok: boolean
  backend: string
  detail: string
}

export interface BrokerStats {
  publishedEvents: number
  receivedEvents: number
  reconnects: number
  activeTopics: number
  gapsFilled: number
  eventsLost: number
}

/** A local subscriber of topics (one client connection, usually). */
export interface TopicSubscriber {
  /** The topic is live for this subscriber from `state.epoch`/`state.head` on. */
  begin (state: TopicState): void
  /** The next event of one of its topics. `now` is read once per fan-out. */
  deliver (message: BrokerMessage, now: number): void
  /** The next events of one of its topics, in order (optional: else `deliver` for each). */
  deliverRun? (run: MessageRun, now: number): void
  /** Events of the topic were lost for live subscribers (history could not fill a gap, or was reset). */
  lost (state: TopicState, reason: string): void
}

/** A subscriber waiting for a topic to become ready. */
export interface Waiter { subscriber: TopicSubscriber, resolve: () => void, reject: (error: unknown) => void }

export class TopicState {
  readonly topic: string
  /** The key of the topic set {topic}: cursors of subscriptions to this topic alone. */
  readonly soloKey: string
  readonly subscribers = new Set<TopicSubscriber>()
  epoch = ''
  /** Offset of the last event delivered locally. */
  head = 0
  /** The backend listens to the topic (or a listen is in flight). */
  listening = false
  /** Listening, and `epoch`/`head` are known. */
  ready = false
  /** Events that arrived while the topic was not ready or a gap was being filled. */
  held: BrokerMessage[] = []
  catchingUp = false
  /** Delay before the next try of a failed catch-up (0: the last one succeeded). */
  catchUpRetryMs = 0
  waiters: Waiter[] = []

  constructor (topic: string) {
    this.topic = topic
    this.soloKey = topicSetKey([topic])
  }
}

/**
 * What a subscription needs of a broker: join and leave its topics, read their history, and the backend's
 * heads (a cursor from an instance ahead of this one). The Broker of `broker.ts` is one; so is a test double.
 */
export interface TopicSource {
  /** Adds a subscriber to topics; resolves once it has begun on every one (the backend listens). */
  join (subscriber: TopicSubscriber, topics: readonly string[]): Promise<void>
  /** Removes a subscriber; a topic left without local subscribers is released. */
  leave (subscriber: TopicSubscriber, topics: readonly string[]): void
  /** The backend's current epoch and last offset of each topic. */
  heads (topics: string[]): Promise<Array<{ epoch: string, head: number }>>
  /** The topic's events after `after`, in order, at most `limit` (default HISTORY_PAGE). */
  history (topic: string, after: number, limit?: number): Promise<TopicHistory>
  /**
   * The event-loop turn counter the relays of this source share (see turn-clock.ts).
   * @internal
   */
  readonly turns: TurnClock
}
