/**
 * The push side of a view's event stream, for a topic subscription that its `events()` returns or
 * `yield*`s (see kPushTarget in symbols.ts): each event is encoded the way the route's pull path encodes
 * it - the view's schema, once per message and route - and written as a frame shared by the route's
 * streams. A relay then costs what a SubscriptionView costs: no Promise, IteratorResult or encoding per
 * event per client (they were ~50% of its time, in GC).
 */
import type { PushProbe, PushTarget } from '../symbols.js'
import { kPushTarget } from '../symbols.js'
import type { EventStream, RefusedEvent } from './stream.js'

/** A shared message as a relay hands it over: its event name, parsed data and topic. */
type Source = { readonly event: string, readonly data: unknown, readonly topic?: string }

/** A pushed event the route's encoding refused, as the pull path reports one (the item it would have framed). */
function refusedOf (source: Source, id: string): RefusedEvent {
  return { item: { event: source.event, data: source.data, id }, topic: source.topic }
}

/** A route's frames of shared messages: one per message, for the cursor every solo subscription shares. */
export type SharedFrames = WeakMap<object, { id: string, frame: Buffer }>

export interface RelayEncoding {
  /** The frame of a topic event, as the pull path would write it (may throw: invalid data). */
  event: (source: Source, id: string) => string
  /** The frame of a control event, as the pull path would write it. */
  control: (event: 'subscribed' | 'reset', data: Record<string, unknown>, id: string) => string
  frames: SharedFrames
}

/** The push side of one stream; also the probe its pump hands the source (PushProbe), so one object, not two. */
class RelayPush implements PushTarget, PushProbe {
  private readonly stream: EventStream
  private readonly encoding: RelayEncoding
  private budgetBytes = Infinity

  constructor (stream: EventStream, encoding: RelayEncoding) {
    this.stream = stream
    this.encoding = encoding
  }

  get [kPushTarget] (): PushTarget {
    return this
  }

  attach (budgetBytes: number): void {
    this.budgetBytes = budgetBytes
    this.stream.pushBudget(budgetBytes)
  }

  event (source: Source, id: string, shared: boolean, now: number): void {
    if (this.stream.closed) return
    let frame: Buffer
    try {
      frame = this.frameOf(source, id, shared)
    } catch (error) {
      // As on the pull path: nothing invalid goes on the wire; an error frame carrying the refused event's
      // id (a resume moves past it, rather than meet it again for ever), then the stream ends.
      this.stream.failWith(error, refusedOf(source, id))
      return
    }
    this.stream.writeShared(frame, now)
  }

  events (key: object, sources: readonly Source[], from: number, idOf: (index: number) => string, now: number): void {
    if (this.stream.closed) return
    const frames = this.encoding.frames
    const known = from === 0 ? frames.get(key) : undefined
    if (known !== undefined) {
      this.stream.writeShared(known.frame, now)
      return
    }
    const parts: Buffer[] = []
    let failure: { error: unknown, refused: RefusedEvent } | undefined
    for (let i = from; i < sources.length; i++) {
      try {
        parts.push(this.frameOf(sources[i], idOf(i), true))
      } catch (error) {
        failure = { error, refused: refusedOf(sources[i], idOf(i)) }
        break
      }
    }
    const joined = Buffer.concat(parts)
    if (from === 0 && failure === undefined) frames.set(key, { id: '', frame: joined })
    // The events before one that does not encode go out; then its error frame, and the stream ends.
    if (parts.length > 0) this.stream.writeShared(joined, now)
    if (failure !== undefined) this.stream.failWith(failure.error, failure.refused)
  }

  /** The route's frame of a shared message, built once per message and route; throws when it does not encode. */
  private frameOf (source: Source, id: string, shared: boolean): Buffer {
    const frames = this.encoding.frames
    const known = shared ? frames.get(source) : undefined
    if (known !== undefined && known.id === id) return known.frame
    const frame = Buffer.from(this.encoding.event(source, id))
    if (shared) frames.set(source, { id, frame })
    return frame
  }

  control (event: 'subscribed' | 'reset', data: Record<string, unknown>, id: string): void {
    this.stream.write(this.encoding.control(event, data, id))
  }

  ready (): Promise<void> | undefined {
    return this.stream.replayRoom(this.budgetBytes / 2)
  }

  resume (): void {
    this.stream.resumePull()
  }
}

/** What a stream passes to its source's `next()`, so a topic subscription reached by it can push. */
export function relayProbe (stream: EventStream, encoding: RelayEncoding): PushProbe {
  return new RelayPush(stream, encoding)
}
