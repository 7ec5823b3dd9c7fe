/**
 * `broker.subscribe(topics, { signal, lastEventId })`: a subscription as an async iterable, for a view's
 * own `events()` to `yield*` from. It yields `{ event, data, id }` where `id` is the resume cursor, so a
 * view that passes events through unchanged resumes exactly like the built-in subscription endpoint.
 * The first item is the `subscribed` event (or `reset`, when the cursor cannot be honoured).
 *
 * A consumer that falls behind (its client stopped reading) buffers at most `budgetBytes` of events that
 * waited since an earlier turn of the event loop; beyond that the iterator throws FVIEWS_ERR_STREAM_SLOW,
 * the stream closes its connection, and the client resumes from history. Events of the current turn do
 * not count: a burst published with Promise.all arrives in one turn, before any consumer could take a
 * single event, and failing it failed every consumer that keeps up (issue 11 #2).
 */
import { FVIEWS_ERR_STREAM_SLOW } from '../errors.js'
import { kCloseAsSlow, kControlData, kPushParked, kPushTarget, kSerializedData, type PushTarget } from '../symbols.js'
import type { TopicSource } from './contract.js'
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

export class TopicEventIterator<T = unknown> implements AsyncIterableIterator<TopicEvent<T>>, SubscriptionSink {
  private readonly subscription: Subscription
  private readonly signal: AbortSignal | undefined
  private readonly budgetBytes: number
  private readonly queue: Array<{ item: TopicEvent<T>, bytes: number }> = []
  private queuedBytes = 0
  private readonly clock: TurnClock
  /** The turn of the last push, and the bytes pushed in it (they do not count against the budget). */
  private turn = -1
  private turnBytes = 0
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
    // Approximate: the data's JSON length stands for the item's size.
    const size = item.id.length + bytes
    const turn = this.clock.current()
    if (turn !== this.turn) {
      this.turn = turn
      this.turnBytes = 0
    }
    // The queue is taken oldest first, so what is queued beyond this turn's bytes waited since an earlier turn.
    if (this.queuedBytes - this.turnBytes > this.budgetBytes) {
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
    this.fail(error)
    this.signal?.[kCloseAsSlow]?.(error)
  }

  private fail (error: unknown): void {
    if (this.finished) return
    this.subscription.close()
    this.queue.length = 0
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
