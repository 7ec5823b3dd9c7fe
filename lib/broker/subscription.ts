/**
 * One client's subscription to a set of topics, with lossless resume.
 *
 * The order of operations is what makes resume exact (Mercure lost events until it got this right):
 *   1. join: the broker listens to every topic; from then on live events are buffered here;
 *   2. read history after the client's cursor, up to where the join began - a page at a time, as the
 *      client takes what was sent, so a client that stops reading holds about its budget, not the backlog;
 *   3. send it, then the buffer, dropping offsets already sent;
 *   4. go live.
 * A cursor that cannot be honoured (malformed or forged, another topic set, another epoch, history
 * trimmed past it) is never replayed in part: the client gets one `reset` event, so it refetches its
 * state over REST, and then the live stream. Every event's id is the cursor after it.
 */
import { FVIEWS_ERR_STREAM_SLOW, FVIEWS_ERR_TOPIC_INVALID } from '../errors.js'
import { EVENT_OVERHEAD_BYTES, HISTORY_PAGE, type TopicSource, type TopicState, type TopicSubscriber } from './contract.js'
import { decodeCursor, encodeCursor, MAX_SUBSCRIPTION_TOPICS, sameEpochs, topicSetKey, type Position } from './cursor.js'
import type { BrokerMessage, MessageRun } from './message.js'

export type ControlEvent = 'subscribed' | 'reset'

/** Why a cursor could not be honoured, as sent in the `reset` event's data. */
export type ResetReason = 'malformed' | 'topics-changed' | 'epoch-changed' | 'invalid-offset' | 'history-trimmed'

export interface SubscriptionSink {
  /** A topic event, in order; the subscription's cursor already includes it. */
  event (message: BrokerMessage, subscription: Subscription, now: number): void
  /**
   * Optional: the events `run.messages[from..]` of a subscription to one topic, at once, in order (else
   * `event` for each); the cursor already includes them.
   */
  events? (run: MessageRun, from: number, subscription: Subscription, now: number): void
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
  private readonly broker: TopicSource
  private readonly sink: SubscriptionSink
  private readonly options: SubscriptionOptions
  /** Position of each topic in `topics`; only subscriptions to several topics need it. */
  private readonly index: Map<string, number> | undefined
  private readonly positions: Position[]
  private phase: 'joining' | 'replaying' | 'live' | 'closed' = 'joining'
  private buffer: BrokerMessage[] = []
  private bufferedBytes = 0
  private lostWhileJoining: string | undefined

  constructor (broker: TopicSource, topics: readonly string[], sink: SubscriptionSink, options: SubscriptionOptions = {}) {
    this.broker = broker
    this.topics = [...new Set(topics)].sort()
    if (this.topics.length > MAX_SUBSCRIPTION_TOPICS) throw new FVIEWS_ERR_TOPIC_INVALID(`subscribe to at most ${MAX_SUBSCRIPTION_TOPICS} topics, got ${this.topics.length}`)
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
    let outcome: Resume | ResetReason = { from: joined, ranges: [] }
    if (lastEventId !== undefined && lastEventId !== '') outcome = await this.missed(lastEventId, joined)
    // The client may have left while history was read.
    if ((this.phase as string) === 'closed') return
    if (typeof outcome === 'string') {
      this.sink.control('reset', { reason: outcome, topics: this.topics }, this.cursor())
    } else {
      // Resume from the client's cursor: its positions are where the replay starts - and, on an instance
      // that lags behind it, what keeps the events the client already has from being sent again.
      outcome.from.forEach((position, i) => { this.positions[i] = position })
      this.sink.control('subscribed', { topics: this.topics }, this.cursor())
      if (!await this.replay(outcome.ranges)) return
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
    // Until the sink has room, not just until a wait ends: a wait may end without room (the response wakes
    // its waiters every 10 ms below its high-water mark), and writing an event after each such wait leaked
    // ~100 events a second into a stalled client, which kept its stream from ever being silent.
    let wait = this.sink.ready?.()
    while (wait !== undefined) {
      await wait
      if (this.phase === 'closed') return false
      wait = this.sink.ready?.()
    }
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

  deliverRun (run: MessageRun, now: number): void {
    const messages = run.messages
    const first = messages[0]
    const last = messages[messages.length - 1]
    // A live subscription to this topic alone takes the run at once; anything else, event by event.
    if (this.phase !== 'live' || !this.solo || this.sink.events === undefined || first.epoch !== last.epoch) {
      for (const message of messages) this.deliver(message, now)
      return
    }
    const position = this.positions[0]
    let from = 0
    if (position.epoch === first.epoch) while (from < messages.length && messages[from].offset <= position.offset) from++
    if (from === messages.length) return
    position.epoch = last.epoch
    position.offset = last.offset
    this.sink.events(run, from, this, now)
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
    // Refused by the broker's catalog (read from history on a resume): the cursor moves past it, nothing is sent.
    if (message.refused !== undefined) return
    // One publish to several topics of this subscription: only its first such topic's copy is sent; the
    // others just move their topic's position (issue 11 #18: once per connection, live and on resume).
    if (message.topics !== undefined && this.index !== undefined && this.firstSubscribed(message.topics) !== message.topic) return
    this.sink.event(message, this, now)
  }

  private firstSubscribed (topics: readonly string[]): string | undefined {
    for (const topic of topics) if ((this.index as Map<string, number>).has(topic)) return topic
    return undefined
  }

  /**
   * Where the replay starts and the events after the client's cursor up to where the join began, or why
   * they cannot be replayed.
   */
  private async missed (lastEventId: string, joined: Position[]): Promise<Resume | ResetReason> {
    const decoded = decodeCursor(lastEventId, this.setKey, this.topics.length)
    if (typeof decoded === 'string') return decoded
    const offsets = decoded.offsets
    let epochs = joined.map((position) => position.epoch)
    if (!sameEpochs(decoded, epochs) || offsets.some((offset, i) => offset > joined[i].offset)) {
      // This instance may lag behind the one that made the cursor (its subscriber is busy, or it has not
      // seen a topic's first event yet): the backend's heads decide (issue 11 #7).
      const heads = await this.broker.heads([...this.topics])
      epochs = heads.map((head) => head.epoch)
      if (!sameEpochs(decoded, epochs)) return 'epoch-changed'
      for (let i = 0; i < offsets.length; i++) {
        if (offsets[i] > heads[i].head) return 'invalid-offset'
        // Delivered here from another epoch: its next event resets live subscribers anyway.
        if (offsets[i] > 0 && joined[i].epoch !== '' && joined[i].epoch !== epochs[i]) return 'epoch-changed'
      }
    }
    const from: Position[] = []
    const ranges: MissedRange[] = []
    for (let i = 0; i < this.topics.length; i++) {
      const offset = offsets[i]
      if (offset < joined[i].offset) {
        ranges.push({ topic: this.topics[i], after: offset, to: joined[i].offset, epoch: joined[i].epoch, page: [], next: 0, eventBytes: 0 })
        from.push({ epoch: joined[i].epoch, offset })
      } else {
        // Nothing to replay: at the join position, or ahead of it on a lagging instance, whose live events
        // up to the cursor are then dropped as already sent.
        from.push(offset === 0 ? { ...joined[i] } : { epoch: epochs[i], offset })
      }
    }
    const failures = await Promise.all(ranges.map((range) => this.readPage(range, ranges.length)))
    for (const failure of failures) if (failure !== undefined) return failure
    return { from, ranges }
  }

  /**
   * Sends the missed events, merged across topics by publish time, paced by the sink (test/delivery/
   * slow-client.test.ts: a replay beyond the byte budget written at once closed the stream as slow on every
   * resume, so a client that missed much never caught up). History is read a page at a time, only as the
   * client takes what was sent: read in one go, a resume over 100,000 events held them all as objects
   * (about 36 MiB per client on Redis) for as long as its client did not read (outside review, F1). False
   * when the subscription ended meanwhile.
   */
  private async replay (ranges: MissedRange[]): Promise<boolean> {
    while (true) {
      let pick: MissedRange | undefined
      for (const range of ranges) {
        if (range.next === range.page.length) {
          if (range.after >= range.to) continue
          const failed = await this.readPage(range, ranges.length)
          if ((this.phase as string) === 'closed') return false
          if (failed !== undefined) {
            // History moved on under a replay this slow: the client resumes from what it got, and is told then.
            this.close()
            this.sink.overflow(new FVIEWS_ERR_STREAM_SLOW(`the replay of '${range.topic}' fell behind its history (${failed})`))
            return false
          }
        }
        if (pick === undefined || range.page[range.next].time < pick.page[pick.next].time) pick = range
      }
      if (pick === undefined) return true
      this.emit(pick.page[pick.next++], Date.now())
      if (!await this.sinkReady()) return false
    }
  }

  /**
   * Reads a range's next page: exactly the events after `after` (at most up to `to`), or why not. A page
   * holds about half the budget of events (shared among the ranges), so a stalled replay holds about its
   * budget: half of it unsent (the sink's `ready`), half of it read and not sent yet.
   */
  private async readPage (range: MissedRange, ranges: number): Promise<ResetReason | undefined> {
    const budget = this.options.budgetBytes ?? DEFAULT_BUDGET_BYTES
    const size = range.eventBytes === 0 ? FIRST_PAGE : Math.floor(budget / 2 / ranges / range.eventBytes)
    const limit = Math.min(HISTORY_PAGE, Math.max(MIN_PAGE, size), range.to - range.after)
    const page = await this.broker.history(range.topic, range.after, limit)
    if (page.epoch !== range.epoch) return 'epoch-changed'
    // Dense offsets make completeness arithmetic: exactly after+1 .. to, or it was trimmed.
    const messages = page.messages.filter((message) => message.offset <= range.to)
    if (messages.length === 0 || messages[0].offset !== range.after + 1 || messages[messages.length - 1].offset !== range.after + messages.length) return 'history-trimmed'
    let bytes = 0
    for (const message of messages) bytes += message.size + READ_EVENT_OVERHEAD
    range.eventBytes = Math.max(1, Math.ceil(bytes / messages.length))
    range.page = messages
    range.next = 0
    range.after += messages.length
    return undefined
  }
}

/** The first page of a replay, before the size of a topic's events is known; no page is smaller than MIN_PAGE. */
const FIRST_PAGE = 64
const MIN_PAGE = 16
/**
 * What an event read from history costs in memory beyond its name and data: its object and its topic, epoch
 * and name strings (about 200 bytes measured on Redis, where each read makes them anew).
 */
const READ_EVENT_OVERHEAD = 3 * EVENT_OVERHEAD_BYTES

/** One topic's part of a replay: its events after `after` up to `to` in `epoch`, read a page at a time. */
interface MissedRange {
  topic: string
  after: number
  to: number
  epoch: string
  /** The page read last, and the next of its events to send. */
  page: BrokerMessage[]
  next: number
  /** What an event of this topic costs, on average over the last page (0: none read yet). */
  eventBytes: number
}

interface Resume {
  /** The positions the replay starts from. */
  from: Position[]
  /** What to replay, each range's first page read (a cursor trimmed past is found before anything is sent). */
  ranges: MissedRange[]
}
