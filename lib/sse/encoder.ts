/**
 * Pure Server-Sent Events framing: objects in, wire text out. No I/O here.
 * Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
import { FVIEWS_ERR_SSE_INVALID_FIELD } from '../errors.js'

export interface SSEFrameFields {
  id?: string | number
  event?: string
  retry?: number
  /** Already serialised data: a JSON text, or the raw string of a string schema. */
  data?: string
}

// A line terminator is CRLF, lone CR or lone LF (spec: "end-of-line"); NUL is refused in names too,
// because a NUL in `id` makes conforming clients ignore the field.
const FORBIDDEN_IN_FIELD = /[\r\n\0]/
const LINE_BREAK = /\r\n|\r|\n/

/** Throws FVIEWS_ERR_SSE_INVALID_FIELD when `value` would inject extra fields into the frame. */
export function assertSafeField (name: 'id' | 'event', value: string): void {
  if (FORBIDDEN_IN_FIELD.test(value)) {
    throw new FVIEWS_ERR_SSE_INVALID_FIELD(name, 'CR, LF and NUL are not allowed')
  }
}

export function assertRetry (retry: number): void {
  if (!Number.isSafeInteger(retry) || retry < 0) {
    throw new FVIEWS_ERR_SSE_INVALID_FIELD('retry', `expected a non-negative integer, got ${String(retry)}`)
  }
}

/** `data: ` lines for a serialised payload, one per line of the payload. */
export function encodeData (data: string): string {
  // The common case (compact JSON) has no line break: skip the split.
  if (!LINE_BREAK.test(data)) return `data: ${data}\n`
  let out = ''
  for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`
  return out
}

/** One complete frame: `id`, `event`, `retry` when present, data lines, then the blank line. */
export function encodeFrame (fields: SSEFrameFields): string {
  let out = ''
  if (fields.id !== undefined && fields.id !== null) {
    const id = String(fields.id)
    assertSafeField('id', id)
    out += `id: ${id}\n`
  }
  if (fields.event !== undefined && fields.event !== null) {
    assertSafeField('event', fields.event)
    out += `event: ${fields.event}\n`
  }
  if (fields.retry !== undefined && fields.retry !== null) {
    assertRetry(fields.retry)
    out += `retry: ${fields.retry}\n`
  }
  if (fields.data !== undefined) out += encodeData(fields.data)
  return out + '\n'
}

/** A comment frame (`: text`), ignored by clients; used for heartbeats and the opening flush. */
export function encodeComment (text = ''): string {
  if (text === '') return ': \n\n'
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += `: ${line}\n`
  return out + '\n'
}

/**
 * One event frame on the hot path. `data` is compact JSON unless `raw` (JSON never holds a raw line
 * break, so only raw strings are split); `checkedId`/`checkedEvent` say the caller already knows the
 * field is safe (a number, a generated UUID, an event name seen before), which skips the scan.
 */
export function encodeEvent (id: string | number | undefined, event: string | undefined, retry: number | undefined,
  data: string, raw: boolean, checkedId = false, checkedEvent = false): string {
  let out = ''
  if (id !== undefined && id !== null) {
    if (typeof id === 'number') out += `id: ${id}\n`
    else {
      if (!checkedId) assertSafeField('id', id)
      out += `id: ${id}\n`
    }
  }
  if (event !== undefined && event !== null) {
    if (!checkedEvent) assertSafeField('event', event)
    out += `event: ${event}\n`
  }
  if (retry !== undefined && retry !== null) {
    assertRetry(retry)
    out += `retry: ${retry}\n`
  }
  return out + (raw ? encodeData(data) : `data: ${data}\n`) + '\n'
}
