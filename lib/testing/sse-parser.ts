/**
 * An incremental Server-Sent Events parser for the test helpers: text in (in whatever chunks it arrives),
 * dispatched events and comments out, by the WHATWG "event stream interpretation" rules - so a test sees
 * exactly what a conforming EventSource would, plus what EventSource hides (comments, the frame's own id).
 * Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */

/** One dispatched event, as EventSource would see it, with the frame's own `id` field beside it. */
export interface ParsedEvent {
  /** The `event` field, or `message` when the frame has none. */
  event: string
  /** The data lines joined by `\n`, as sent (not parsed). */
  data: string
  /** The frame's own `id` field; undefined when it has none (a heartbeat, say). */
  id: string | undefined
  /** The last event id after this frame (ids persist across frames, as in EventSource). */
  lastEventId: string
  /** The frame's `retry` field, when it has a valid one. */
  retry: number | undefined
}

export interface ParserSink {
  event: (event: ParsedEvent) => void
  comment: (text: string) => void
  /** A valid `retry` field, whether or not its frame carries data (EventSource applies it either way). */
  retry: (milliseconds: number) => void
}

const LINE_END = /\r\n|\r|\n/

export class SSEParser {
  private pending = ''
  private started = false
  // A CR at the end of one chunk ends its line; an LF starting the next chunk belongs to that CR.
  private afterCR = false
  private data: string[] = []
  private eventType = ''
  private frameId: string | undefined
  private retry: number | undefined
  private lastEventId = ''

  constructor (private readonly sink: ParserSink) {}

  write (text: string): void {
    if (text === '') return
    if (!this.started) {
      this.started = true
      // One leading U+FEFF is not part of the stream.
      if (text.startsWith('\uFEFF')) text = text.slice(1)
    }
    if (this.afterCR && text.startsWith('\n')) text = text.slice(1)
    this.afterCR = false
    const lines = (this.pending + text).split(LINE_END)
    // The last piece has no line end yet, unless the text ended with one.
    this.pending = lines.pop() ?? ''
    if (text.endsWith('\r')) this.afterCR = true
    for (const line of lines) this.line(line)
  }

  private line (line: string): void {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return this.sink.comment(line.slice(1).replace(/^ /, ''))
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    switch (field) {
      case 'event': this.eventType = value; break
      case 'data': this.data.push(value); break
      // An id holding NUL is ignored, as EventSource does.
      case 'id': if (!value.includes('\0')) { this.frameId = value; this.lastEventId = value } break
      case 'retry': if (/^\d+$/.test(value)) { this.retry = Number(value); this.sink.retry(this.retry) } break
      default: break // unknown fields are ignored
    }
  }

  private dispatch (): void {
    const frame = { event: this.eventType === '' ? 'message' : this.eventType, id: this.frameId, retry: this.retry }
    const data = this.data
    this.data = []
    this.eventType = ''
    this.frameId = undefined
    this.retry = undefined
    // A frame without data lines dispatches nothing (its id still counts, as in EventSource).
    if (data.length === 0) return
    this.sink.event({ ...frame, data: data.join('\n'), lastEventId: this.lastEventId })
  }
}
