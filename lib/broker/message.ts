/**
 * One published event as the broker carries it: its topic position, its name and its data as JSON text
 * (serialised once, at publish). The SSE bytes are built at most once per message and shared by every
 * subscriber of its topic alone: fan-out is one framing and N writes of the same Buffer.
 */
import { encodeFrame } from '../sse/encoder.js'
import { cursorPrefix, encodePosition, sealCursor } from './cursor.js'

export class BrokerMessage {
  readonly topic: string
  readonly epoch: string
  readonly offset: number
  readonly event: string
  /** The data as JSON text. */
  readonly json: string
  /** Publish time, ms since the epoch. */
  readonly time: number

  private parsed: { value: unknown } | undefined
  private framedBody: string | undefined
  private shared: { setKey: string, id: string, frame: Buffer } | undefined

  constructor (topic: string, epoch: string, offset: number, event: string, json: string, time: number) {
    this.topic = topic
    this.epoch = epoch
    this.offset = offset
    this.event = event
    this.json = json
    this.time = time
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

  /** The whole frame for every subscriber of this topic alone: one Buffer, built once. */
  soloFrame (setKey: string): { id: string, frame: Buffer } {
    if (this.shared === undefined || this.shared.setKey !== setKey) {
      const id = sealCursor(cursorPrefix(setKey) + encodePosition(this))
      this.shared = { setKey, id, frame: Buffer.from(`id: ${id}\n${this.body}`) }
    }
    return this.shared
  }

  /** A frame with a subscription-specific cursor (subscriptions to several topics). */
  frameWith (id: string): Buffer {
    return Buffer.from(`id: ${id}\n${this.body}`)
  }
}
