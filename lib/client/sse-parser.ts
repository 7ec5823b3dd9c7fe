/**
 * A streaming parser of `text/event-stream`, as the WHATWG HTML standard's EventSource parses it
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation), for the
 * client's fetch transport: text arrives in chunks cut anywhere - inside a line, between the CR and the LF
 * of a CRLF - and events come out whole, each as soon as its blank line arrived. Pure: no I/O, no timers.
 * The one parser of the package: fastify-views/testing reads streams with it too (comments, the frame's own
 * id and retry are for it; the client's EventStream reads the event and lastEventId).
 */

/** One dispatched event, as EventSource would dispatch it. */
export interface ParsedEvent {
  /** The event type: the `event:` field, `message` without one. */
  type: string
  /** The `data:` lines joined by LF. */
  data: string
  /** The last event id string at dispatch (ids persist across events until a new `id:` field). */
  lastEventId: string
  /** The frame's own `id` field; undefined when it has none (or only ones holding NUL, which are ignored). */
  id: string | undefined
  /** The frame's own `retry` field, when it has a valid one (digits only). */
  retry: number | undefined
}

export interface ParserHandlers {
  event: (event: ParsedEvent) => void
  /** A `retry:` field: the reconnection time the server asks for, in milliseconds. */
  retry?: (milliseconds: number) => void
  /** A comment line (a heartbeat is `''`): its text after the colon, one leading space stripped. */
  comment?: (text: string) => void
}

export class EventStreamParser {
  /** The last event id string: the id buffer as of the last blank line (what a reconnect sends back). */
  lastEventId: string
  private idBuffer: string
  private pending = ''
  private type = ''
  private data = ''
  private hasData = false
  private frameId: string | undefined = undefined
  private frameRetry: number | undefined = undefined
  private afterCR = false
  private readonly handlers: ParserHandlers

  constructor (handlers: ParserHandlers, lastEventId = '') {
    this.handlers = handlers
    this.lastEventId = lastEventId
    this.idBuffer = lastEventId
  }

  /**
   * Feeds decoded text. Decode with a TextDecoder in stream mode: it joins UTF-8 sequences split across
   * chunks and strips the one leading BOM, as the standard's decoding step does (the parser does not).
   */
  feed (text: string): void {
    // Nothing (an empty read): a CR just before is still waiting for its LF.
    if (text === '') return
    // The chunk before ended in a CR, taken as a line end at once: an LF opening this one is its other half.
    if (this.afterCR && text.charCodeAt(0) === 10) text = text.slice(1)
    this.afterCR = false
    const buffer = this.pending === '' ? text : this.pending + text
    let start = 0
    // Found once per chunk, not per line: a chunk of many LF-only lines is scanned once.
    let nextCR = buffer.indexOf('\r')
    let nextLF = buffer.indexOf('\n')
    while (nextCR !== -1 || nextLF !== -1) {
      let end: number
      let after: number
      if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
        // A CR as the chunk's last character may be the first half of a CRLF split across chunks; it ends
        // the line now all the same (a server that ends lines with CR alone must not wait for more bytes).
        end = nextCR
        if (nextCR === buffer.length - 1) this.afterCR = true
        after = buffer[nextCR + 1] === '\n' ? nextCR + 2 : nextCR + 1
      } else {
        end = nextLF
        after = nextLF + 1
      }
      this.line(buffer.slice(start, end))
      start = after
      if (nextCR !== -1 && nextCR < start) nextCR = buffer.indexOf('\r', start)
      if (nextLF !== -1 && nextLF < start) nextLF = buffer.indexOf('\n', start)
    }
    this.pending = buffer.slice(start)
  }

  /** Characters of an unfinished line held for the next chunk (a bound against a line that never ends). */
  get pendingLength (): number {
    return this.pending.length
  }

  /** The stream ended: an unfinished event is discarded, as the standard says. */
  reset (): void {
    this.idBuffer = this.lastEventId
    this.afterCR = false
    this.pending = ''
    this.type = ''
    this.data = ''
    this.hasData = false
    this.frameId = undefined
    this.frameRetry = undefined
  }

  private line (line: string): void {
    if (line === '') { this.dispatch(); return }
    if (line.charCodeAt(0) === 58 /* : */) { // a comment
      if (this.handlers.comment !== undefined) this.handlers.comment(line.charCodeAt(1) === 32 ? line.slice(2) : line.slice(1))
      return
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32 /* space */) value = value.slice(1)
    switch (field) {
      case 'event': this.type = value; break
      case 'data':
        this.data = this.hasData ? `${this.data}\n${value}` : value
        this.hasData = true
        break
      case 'id': if (!value.includes('\0')) { this.idBuffer = value; this.frameId = value } break
      case 'retry':
        if (/^[0-9]+$/.test(value)) {
          this.frameRetry = Number(value)
          this.handlers.retry?.(this.frameRetry)
        }
        break
      default: // unknown fields are ignored
    }
  }

  // The id is taken at every blank line, an event's or not (an id-only frame moves the cursor too); the
  // frame's own fields end with it.
  private dispatch (): void {
    this.lastEventId = this.idBuffer
    const id = this.frameId
    const retry = this.frameRetry
    this.frameId = undefined
    this.frameRetry = undefined
    if (!this.hasData) { this.type = ''; return }
    const event: ParsedEvent = { type: this.type === '' ? 'message' : this.type, data: this.data, lastEventId: this.lastEventId, id, retry }
    this.type = ''
    this.data = ''
    this.hasData = false
    this.handlers.event(event)
  }
}
