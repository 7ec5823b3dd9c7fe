/**
 * One published event as the broker carries it: its topic position, its name and its data as JSON text
 * (serialised once, at publish). The SSE bytes are built at most once per message and shared by every
 * subscriber of its topic alone: fan-out is one framing, and the same Buffer handed to N streams.
 */
import { encodeFrame } from '../sse/encoder.js'
import { soloCursor } from './cursor.js'

/** A frame shared by many streams: the SSE bytes of one event, with the cursor in its `id:` line. */
export interface SharedFrame {
  id: string
  frame: Buffer
}

export class BrokerMessage {
  readonly topic: string
  readonly epoch: string
  readonly offset: number
  readonly event: string
  /** The data as JSON text. */
  readonly json: string
  /** Publish time, ms since the epoch. */
  readonly time: number
  /**
   * The topics of the publish, in its order (one publish to several topics stores one copy per topic).
   * A subscription to several of them delivers the event only through the first it subscribes to
   * (issue 11 #18): the rule needs no shared id and gives the same answer live and on replay.
   * Undefined for a publish to this topic alone (most events: no array per message).
   */
  readonly topics: readonly string[] | undefined
  /**
   * Why the broker's topic catalog refuses this copy (one another publisher wrote to the shared backend),
   * or undefined. A refused event keeps its place - offsets stay dense, so the topic's position and every
   * subscription's cursor move past it - but it is never sent (lib/broker/foreign-screen.ts).
   * @internal
   */
  refused: string | undefined = undefined

  private parsed: { value: unknown } | undefined
  private framedBody: string | undefined
  private shared: (SharedFrame & { setKey: string }) | undefined

  constructor (topic: string, epoch: string, offset: number, event: string, json: string, time: number, topics?: readonly string[]) {
    this.topic = topic
    this.topics = topics !== undefined && topics.length > 1 ? topics : undefined
    this.epoch = epoch
    this.offset = offset
    this.event = event
    this.json = json
    this.time = time
  }

  /** What the event costs history: its name and data (the retention's measure, see BrokerOptions.historyBytes). */
  get size (): number {
    return this.event.length + this.json.length
  }

  /** The data, parsed once; shared by every reader, so treat it as read-only. */
  get data (): unknown {
    if (this.parsed === undefined) this.parsed = { value: JSON.parse(this.json) }
    return this.parsed.value
  }

  /** `event:` and `data:` lines and the closing blank line. */
  get body (): string {
    if (this.framedBody === undefined) this.framedBody = encodeFrame({ event: this.event, data: this.json })
    return this.framedBody
  }

  /** The cursor of a subscription to this topic alone, after this event. */
  soloCursor (setKey: string): string {
    return this.soloFrame(setKey).id
  }

  /**
   * The whole frame for every subscriber of this topic alone, built once: the SSE bytes, which every
   * stream of those subscribers is handed as the same Buffer. How they are framed on the wire (an HTTP/1.1
   * chunk, HTTP/2 DATA) is the transport's business (lib/sse/connection.ts).
   */
  soloFrame (setKey: string): SharedFrame {
    if (this.shared === undefined || this.shared.setKey !== setKey) {
      const id = soloCursor(setKey, this.epoch, this.offset)
      this.shared = { setKey, id, frame: Buffer.from(`id: ${id}\n${this.body}`) }
    }
    return this.shared
  }

  /** A frame with a subscription-specific cursor (subscriptions to several topics). */
  frameWith (id: string): Buffer {
    return Buffer.from(`id: ${id}\n${this.body}`)
  }
}

/**
 * Consecutive events of one topic accepted in one turn, delivered to each subscriber at once (issue 14 #2):
 * one call per subscriber per turn instead of one per event, and for subscribers of the topic alone one
 * joined Buffer of their shared frames, built once for all of them.
 */
export class MessageRun {
  readonly messages: BrokerMessage[]
  private joined: { setKey: string, frames: Buffer } | undefined

  constructor (messages: BrokerMessage[]) {
    this.messages = messages
  }

  /** The solo frames (see BrokerMessage.soloFrame) of `messages[from..]`, joined; from 0, built once. */
  soloFrames (setKey: string, from: number): Buffer {
    if (from > 0) return Buffer.concat(this.messages.slice(from).map((message) => message.soloFrame(setKey).frame))
    if (this.joined === undefined || this.joined.setKey !== setKey) {
      this.joined = { setKey, frames: Buffer.concat(this.messages.map((message) => message.soloFrame(setKey).frame)) }
    }
    return this.joined.frames
  }
}

/**
 * Across topics there is no single order; publish time is the one a reader expects. Each topic keeps its
 * own offset order even when clocks of publishing instances disagree (a plain sort could reorder it).
 */
export function mergeByTime (lists: BrokerMessage[][]): BrokerMessage[] {
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
