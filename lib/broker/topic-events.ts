/**
 * `broker.subscribe(topics, { signal, lastEventId })`: a subscription as an async iterable, for a view's
 * own `events()` to `yield*` from. It yields `{ event, data, id }` where `id` is the resume cursor, so a
 * view that passes events through unchanged resumes exactly like the built-in subscription endpoint.
 * The first item is the `subscribed` event (or `reset`, when the cursor cannot be honoured).
 *
 * A consumer that falls behind (its client stopped reading) buffers at most `budgetBytes` of events that
 * waited since an earlier turn of the event loop, besides the last turn's batch; beyond that the iterator
 * throws FVIEWS_ERR_STREAM_SLOW, the stream closes its connection, and the client resumes from history.
 * What is not counted is what the push path does not count either (EventStream.openBatch): the current
 * turn's events - a burst published with Promise.all arrives in one turn, before any consumer could take a
 * single event, and failing it failed every consumer that keeps up (issue 11 #2) - and what is left of the
 * last turn's batch, which a consumer that keeps up is still taking: a stream pulls it one piece per turn,
 * so under sustained bursts the queue always holds most of the last burst, and counting it closed readers
 * at full speed (found by an outside review). A stream that pulls this iterator (its signal feeds it) also
 * counts the queue in its heartbeat sweep (see kPullSource): a consumer that stopped after a burst on a
 * topic that then fell quiet meets no later event to close it.
 */
import { FVIEWS_ERR_STREAM_SLOW } from '../errors.js'
import { kCloseAsSlow, kControlData, kPullSource, kPushParked, kPushTarget, kSerializedData, type PushTarget } from '../symbols.js'
import { EVENT_OVERHEAD_BYTES, type TopicSource } from './contract.js'
import type { BrokerMessage, MessageRun } from './message.js'
import type { TurnClock } from './turn-clock.js'
import { DEFAULT_BUDGET_BYTES, Subscription, type ControlEvent, type ResetReason, type SubscriptionSink } from './subscription.js'

/** The data of the control events: `subscribed` opens the stream, `reset` says the missed events are gone. */
export type SubscriptionControl = { topics: string[] } | { reason: ResetReason, topics: string[] }

/**
 * One item of a subscription. `T` is what the topics' events carry: say it when you know it
 * (`broker.subscribe<Static<typeof Note>>(...)`), for a view whose data schema accepts it (and the
 * control events' data).
 */
export interface TopicEvent<T = unknown> {
  event: string
  data: T | SubscriptionControl
  /** The resume cursor after this event. */
  id: string
  /** The topic of a published event (absent on `subscribed` and `reset`). */
  topic?: string
}

export interface SubscribeOptions {
  /** Ends the iteration when aborted (pass the stream's signal). */
  signal?: AbortSignal
  /** Resume after this cursor (the client's Last-Event-ID). */
  lastEventId?: string
  /** Bytes the iterator may hold for a slow consumer (default 1 MiB). */
  budgetBytes?: number
}

// A PullSource too (structurally: the interface stays out of the public surface), for the stream it feeds.
export class TopicEventIterator<T = unknown> implements AsyncIterableIterator<TopicEvent<T>>, SubscriptionSink {
  private readonly subscription: Subscription
  private readonly signal: AbortSignal | undefined
  /** @internal */
  readonly budgetBytes: number
  private readonly queue: Array<{ item: TopicEvent<T>, bytes: number }> = []
  private queuedBytes = 0
  private readonly clock: TurnClock
  /** The turn of the last push, and the bytes pushed in it (they do not count against the budget). */
  private turn = -1
  private turnBytes = 0
  /** Bytes pushed in the last turn before `turn` that had events (`lastTurn`): what is left of them does not count either. */
  private lastBatch = 0
  private lastTurn = -1
  /** The cursor and topic of the last event handed out (an error about it names its topic). */
  private lastId: string | undefined
  private lastTopic: string | undefined
  private started = false
  private finished = false
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private room: (() => void) | undefined
  /** The event stream this subscription pushes into (see kPushTarget), when its pump reached it. */
  private target: PushTarget | undefined
  /** The signal's 'abort' listener. Assigned, not a class field: see EventStream's constructor. */
  private readonly onAbort: (() => void) | undefined

  constructor (broker: TopicSource, topics: readonly string[], options: SubscribeOptions = {}) {
    this.subscription = new Subscription(broker, topics, this, { lastEventId: options.lastEventId, budgetBytes: options.budgetBytes })
    this.signal = options.signal
    this.budgetBytes = options.budgetBytes ?? DEFAULT_BUDGET_BYTES
    this.clock = broker.turns
    if (this.signal !== undefined) {
      this.onAbort = () => this.stop()
      this.signal.addEventListener('abort', this.onAbort, { once: true })
    }
    this.signal?.[kPullSource]?.(this)
  }

  /**
   * True once the iteration has ended (a stream pulling it lets go of it).
   * @internal
   */
  get done (): boolean {
    return this.finished
  }

  /**
   * Bytes of events queued and not taken yet (a stream pulling this iterator counts them, see kPullSource).
   * @internal
   */
  heldBytes (): number {
    return this.queuedBytes
  }

  /**
   * Of them, those queued before the last turn (see PullSource).
   * @internal
   */
  staleBytes (): number {
    if (this.queuedBytes === 0) return 0
    const turn = this.clock.current()
    // The queue is taken oldest first: the newest bytes are this turn's and the last turn's.
    let recent = 0
    if (this.turn === turn) recent = this.turnBytes + (this.lastTurn === turn - 1 ? this.lastBatch : 0)
    else if (this.turn === turn - 1) recent = this.turnBytes
    return Math.max(0, this.queuedBytes - recent)
  }

  /**
   * True while the replay waits for the consumer to take what was queued (see PullSource).
   * @internal
   */
  replayWaits (): boolean {
    return this.room !== undefined
  }

  /**
   * The topic of the event with cursor `id`, when it is the last one handed out.
   * @internal
   */
  topicOf (id: unknown): string | undefined {
    return this.lastId !== undefined && this.lastId === id ? this.lastTopic : undefined
  }

  [Symbol.asyncIterator] (): this { return this }

  async next (probe?: unknown): Promise<IteratorResult<TopicEvent<T>>> {
    // Reached by an event stream's pump (returned by the view, or through yield*, which hands on every
    // next() argument but the first): once nothing is queued, the subscription pushes into the stream.
    if (this.target === undefined && this.queue.length === 0 && this.failure === undefined && !this.finished && this.signal?.aborted !== true) {
      const target = (probe as { [kPushTarget]?: PushTarget } | undefined)?.[kPushTarget]
      if (target !== undefined) {
        this.target = target
        // Nothing is queued from now on: let go of what the queue grew (an array grown by push keeps its slots).
        this.queue.length = 0
        target.attach(this.budgetBytes)
      }
    }
    if (!this.started) {
      this.started = true
      if (this.signal?.aborted === true) this.stop()
      else {
        await this.subscription.join()
        this.subscription.start().catch((error) => this.fail(error))
      }
    }
    // Pushing: the pump is told to stop pulling (kPushParked); it pulls again only when the subscription
    // failed (fail() resumes it), and then meets the failure below.
    if (this.target !== undefined && !this.finished && this.failure === undefined) return { value: kPushParked as unknown as TopicEvent<T>, done: false }
    while (true) {
      const entry = this.queue.shift()
      if (entry !== undefined) {
        this.queuedBytes -= entry.bytes
        if (this.room !== undefined && this.queuedBytes <= this.budgetBytes / 2) this.freeRoom()
        this.lastId = entry.item.id
        this.lastTopic = entry.item.topic
        return { value: entry.item, done: false }
      }
      if (this.failure !== undefined) {
        const failure = this.failure
        this.failure = undefined
        this.finished = true
        throw failure
      }
      if (this.finished) return { value: undefined, done: true }
      await new Promise<void>((resolve) => { this.wake = resolve })
    }
  }

  async return (): Promise<IteratorResult<TopicEvent<T>>> {
    this.stop()
    return { value: undefined, done: true }
  }

  event (message: BrokerMessage, subscription: Subscription, now: number): void {
    if (this.target !== undefined) {
      if (!this.finished) this.target.event(message, subscription.solo ? message.soloCursor(subscription.setKey) : subscription.cursor(), subscription.solo, now)
      return
    }
    const id = subscription.solo ? message.soloCursor(subscription.setKey) : subscription.cursor()
    // The message rides along: a route that yields this event's data serialises it once for all its clients.
    this.push({ event: message.event, data: message.data, id, topic: message.topic, [kSerializedData]: message } as TopicEvent<T>, message.json.length)
  }

  /** A run of one topic's events (a subscription to it alone): pushed at once, or queued one by one. */
  events (run: MessageRun, from: number, subscription: Subscription, now: number): void {
    const messages = run.messages
    if (this.target !== undefined) {
      if (!this.finished) this.target.events(run, messages, from, (i) => messages[i].soloCursor(subscription.setKey), now)
      return
    }
    for (let i = from; i < messages.length; i++) this.event(messages[i], subscription, now)
  }

  control (event: ControlEvent, data: Record<string, unknown>, id: string): void {
    if (this.target !== undefined) {
      if (!this.finished) this.target.control(event, data, id)
      return
    }
    this.push({ event, data: data as SubscriptionControl, id, [kControlData]: data } as TopicEvent<T>, 64)
  }

  overflow (error: Error): void {
    this.overflowed(error)
  }

  // A replay waits while half the budget is queued, so it never trips the budget meant for live events
  // (a consumer that missed more than its budget could otherwise never resume).
  ready (): Promise<void> | undefined {
    if (this.target !== undefined) return this.finished ? undefined : this.target.ready()
    if (this.finished || this.queuedBytes <= this.budgetBytes / 2) return undefined
    return new Promise<void>((resolve) => { this.room = resolve })
  }

  private freeRoom (): void {
    const room = this.room
    this.room = undefined
    room?.()
  }

  private push (item: TopicEvent<T>, bytes: number): void {
    if (this.finished) return
    // Approximate: the data's JSON length and the id stand for the item's size, plus what its objects cost
    // (the item, its queue entry), counted as history counts an event: tiny events queued cost 2-3x their
    // frame bytes, so a stalled consumer of them held about twice its budget (outside review, F3).
    const size = item.id.length + bytes + EVENT_OVERHEAD_BYTES
    const turn = this.clock.current()
    if (turn !== this.turn) {
      this.lastTurn = this.turn
      this.lastBatch = this.turnBytes
      this.turn = turn
      this.turnBytes = 0
    }
    // The queue is taken oldest first: what is queued beyond this turn's bytes waited since an earlier turn,
    // and of that, the newest `lastBatch` bytes are the last turn's batch, which the consumer may be taking.
    const earlier = this.queuedBytes - this.turnBytes
    if (earlier - Math.min(this.lastBatch, earlier) > this.budgetBytes) {
      this.overflowed(new FVIEWS_ERR_STREAM_SLOW(`more than ${this.budgetBytes} bytes of events waited for the stream`))
      return
    }
    this.queue.push({ item, bytes: size })
    this.queuedBytes += size
    this.turnBytes += size
    this.notify()
  }

  /**
   * Past the budget: the consumer gets the error on its next pull, and the event stream whose signal feeds
   * this iterator closes its connection now - its pump waits for the client, not for us, so it would never pull.
   */
  private overflowed (error: Error): void {
    if (this.finished) return
    // The stream first, while the queue it logs is still here.
    this.signal?.[kCloseAsSlow]?.(error)
    this.fail(error)
  }

  private fail (error: unknown): void {
    if (this.finished) return
    this.subscription.close()
    this.queue.length = 0
    this.queuedBytes = 0
    this.failure = error as Error
    this.freeRoom()
    this.notify()
    this.target?.resume()
  }

  private stop (): void {
    if (this.finished) return
    this.finished = true
    this.subscription.close()
    this.queue.length = 0
    this.queuedBytes = 0
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort)
    this.freeRoom()
    this.notify()
    // A parked pump (kPushParked) pulls again and meets the end, so the generator goes on after its yield*
    // when the subscription's own signal aborted; when the stream itself ended, it stays put.
    this.target?.resume()
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}
