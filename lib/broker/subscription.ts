/**
 * One client's subscription to a set of topics, with lossless resume.
 *
 * The order of operations is what makes resume exact (Mercure lost events until it got this right):
 *   1. join: the broker listens to every topic; from then on live events are buffered here;
 *   2. read history after the client's cursor, up to where the join began;
 *   3. send it, then the buffer, dropping offsets already sent;
 *   4. go live.
 * A cursor that cannot be honoured (malformed or forged, another topic set, another epoch, history
 * trimmed past it) is never replayed in part: the client gets one `reset` event, so it refetches its
 * state over REST, and then the live stream. Every event's id is the cursor after it.
 */
import { FVIEWS_ERR_STREAM_SLOW } from '../errors.js'
import type { Broker, TopicState, TopicSubscriber } from './broker.js'
import { decodeCursor, encodeCursor, topicSetKey, type Position } from './cursor.js'
import type { BrokerMessage } from './message.js'

export type ControlEvent = 'subscribed' | 'reset'

/** Why a cursor could not be honoured, as sent in the `reset` event's data. */
export type ResetReason = 'malformed' | 'topics-changed' | 'epoch-changed' | 'invalid-offset' | 'history-trimmed'

export interface SubscriptionSink {
  /** A topic event, in order; the subscription's cursor already includes it. */
  event (message: BrokerMessage, subscription: Subscription, now: number): void
  /** `subscribed` (the stream is live from the cursor `id`) or `reset` (refetch state, then live). */
  control (event: ControlEvent, data: Record<string, unknown>, id: string): void
  /** More than the budget was buffered before going live: end the stream; the client resumes. */
  overflow (error: Error): void
  /**
   * Backpressure for the replay: undefined when the sink can take more now, else a promise that resolves
   * once it can (or once it is gone). Without it a replay larger than the sink's byte budget would be
   * written at once and overrun it, every time the client came back: it could never resume.
   */
  ready? (): Promise<void> | undefined
}

export interface SubscriptionOptions {
  /** The client's cursor (Last-Event-ID); untrusted. */
  lastEventId?: string
  /** Bytes of events this subscription may buffer while it replays (default 1 MiB). */
  budgetBytes?: number
}

export const DEFAULT_BUDGET_BYTES = 1024 * 1024

export class Subscription implements TopicSubscriber {
  /** Sorted, unique. */
  readonly topics: readonly string[]
  readonly setKey: string
  /** A subscription to one topic shares its frames with every other such subscription. */
  readonly solo: boolean
  private readonly broker: Broker
  private readonly sink: SubscriptionSink
  private readonly options: SubscriptionOptions
  /** Position of each topic in `topics`; only subscriptions to several topics need it. */
  private readonly index: Map<string, number> | undefined
  private readonly positions: Position[]
  private phase: 'joining' | 'replaying' | 'live' | 'closed' = 'joining'
  private buffer: BrokerMessage[] = []
  private bufferedBytes = 0
  private lostWhileJoining: string | undefined

  constructor (broker: Broker, topics: readonly string[], sink: SubscriptionSink, options: SubscriptionOptions = {}) {
    this.broker = broker
    this.topics = [...new Set(topics)].sort()
    if (this.topics.length > 1) this.index = new Map(this.topics.map((topic, i) => [topic, i]))
    this.setKey = topicSetKey(this.topics)
    this.solo = this.topics.length === 1
    this.positions = this.topics.map(() => ({ epoch: '', offset: 0 }))
    this.sink = sink
    this.options = options
  }

  /** The cursor after the last event sent. */
  cursor (): string {
    return encodeCursor(this.setKey, this.positions)
  }

  /** Step 1. Rejects (FVIEWS_ERR_BROKER_*) when the broker cannot listen: nothing has been sent yet. */
  async join (): Promise<void> {
    try {
      await this.broker.join(this, this.topics)
    } catch (error) {
      this.close()
      throw error
    }
  }

  /** Steps 2-4: replays what the client missed (or resets), then goes live. */
  async start (): Promise<void> {
    if (this.phase !== 'joining') return
    this.phase = 'replaying'
    const joined = this.positions.map((position) => ({ ...position }))
    const lastEventId = this.options.lastEventId
    let outcome: BrokerMessage[] | ResetReason = []
    if (lastEventId !== undefined && lastEventId !== '') outcome = await this.missed(lastEventId, joined)
    // The client may have left while history was read.
    if ((this.phase as string) === 'closed') return
    if (typeof outcome === 'string') {
      this.sink.control('reset', { reason: outcome, topics: this.topics }, this.cursor())
    } else {
      if (outcome.length > 0) {
        // Resume from the client's cursor: its positions are where the replay starts.
        const decoded = decodeCursor(lastEventId as string, this.setKey, this.topics.length) as Position[]
        decoded.forEach((position, i) => { this.positions[i] = position })
      }
      this.sink.control('subscribed', { topics: this.topics }, this.cursor())
      // Paced by the sink (test/delivery/slow-client.test.ts): a replay beyond the byte budget written at
      // once closed the stream as slow on every resume, so a client that missed much never caught up.
      for (const message of outcome) {
        this.emit(message, Date.now())
        if (!await this.sinkReady()) return
      }
    }
    // Then what arrived live meanwhile, paced the same way; arrivals during a wait join the buffer (and
    // count against the budget) until it is empty.
    while (this.buffer.length > 0) {
      const buffered = this.buffer
      this.buffer = []
      for (const message of buffered) {
        this.bufferedBytes -= message.json.length
        this.emit(message, Date.now())
        if (!await this.sinkReady()) return
      }
    }
    this.bufferedBytes = 0
    this.phase = 'live'
    if (this.lostWhileJoining !== undefined) this.sink.control('reset', { reason: this.lostWhileJoining, topics: this.topics }, this.cursor())
  }

  /** Waits while the sink is full; false when the subscription was closed meanwhile. */
  private async sinkReady (): Promise<boolean> {
    const wait = this.sink.ready?.()
    if (wait !== undefined) await wait
    return this.phase !== 'closed'
  }

  close (): void {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.buffer = []
    this.broker.leave(this, this.topics)
  }

  private indexOf (topic: string): number {
    return this.index === undefined ? 0 : this.index.get(topic) as number
  }

  begin (state: TopicState): void {
    this.positions[this.indexOf(state.topic)] = { epoch: state.epoch, offset: state.head }
  }

  deliver (message: BrokerMessage, now: number): void {
    if (this.phase === 'live') {
      this.emit(message, now)
      return
    }
    if (this.phase === 'closed') return
    this.buffer.push(message)
    this.bufferedBytes += message.json.length
    if (this.bufferedBytes > (this.options.budgetBytes ?? DEFAULT_BUDGET_BYTES)) {
      this.close()
      this.sink.overflow(new FVIEWS_ERR_STREAM_SLOW(`more than ${this.options.budgetBytes ?? DEFAULT_BUDGET_BYTES} bytes of events arrived while it was replaying`))
    }
  }

  lost (state: TopicState, reason: string): void {
    const position = this.positions[this.indexOf(state.topic)]
    position.epoch = state.epoch
    position.offset = state.head
    if (this.phase === 'live') this.sink.control('reset', { reason, topics: this.topics }, this.cursor())
    else this.lostWhileJoining = reason
  }

  private emit (message: BrokerMessage, now: number): void {
    const position = this.positions[this.indexOf(message.topic)]
    if (position.epoch === message.epoch && message.offset <= position.offset) return
    position.epoch = message.epoch
    position.offset = message.offset
    this.sink.event(message, this, now)
  }

  /** The events after the client's cursor up to where the join began, or why they cannot be replayed. */
  private async missed (lastEventId: string, joined: Position[]): Promise<BrokerMessage[] | ResetReason> {
    const decoded = decodeCursor(lastEventId, this.setKey, this.topics.length)
    if (typeof decoded === 'string') return decoded
    const ranges: Array<{ topic: string, from: number, to: number }> = []
    for (let i = 0; i < this.topics.length; i++) {
      const cursor = decoded[i]
      const now = joined[i]
      if (cursor.epoch !== now.epoch && !(cursor.epoch === '' && cursor.offset === 0)) return 'epoch-changed'
      const from = cursor.epoch === now.epoch ? cursor.offset : 0
      if (from > now.offset) return 'invalid-offset'
      if (from < now.offset) ranges.push({ topic: this.topics[i], from, to: now.offset })
    }
    const histories = await Promise.all(ranges.map((range) => this.broker.history(range.topic, range.from)))
    const perTopic: BrokerMessage[][] = []
    for (let r = 0; r < ranges.length; r++) {
      const { from, to } = ranges[r]
      const messages = histories[r].messages.filter((message) => message.offset <= to)
      // Dense offsets make completeness arithmetic: exactly from+1 .. to, or it was trimmed.
      if (messages.length !== to - from || messages[0]?.offset !== from + 1) return 'history-trimmed'
      perTopic.push(messages)
    }
    return mergeByTime(perTopic)
  }
}

/**
 * Across topics there is no single order; publish time is the one a reader expects. Each topic keeps its
 * own offset order even when clocks of publishing instances disagree (a plain sort could reorder it).
 */
function mergeByTime (lists: BrokerMessage[][]): BrokerMessage[] {
  if (lists.length <= 1) return lists[0] ?? []
  const next = lists.map(() => 0)
  const out: BrokerMessage[] = []
  while (true) {
    let pick = -1
    for (let i = 0; i < lists.length; i++) {
      if (next[i] < lists[i].length && (pick < 0 || lists[i][next[i]].time < lists[pick][next[pick]].time)) pick = i
    }
    if (pick < 0) return out
    out.push(lists[pick][next[pick]++])
  }
}
