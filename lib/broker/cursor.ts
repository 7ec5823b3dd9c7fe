/**
 * Resume cursors: the SSE `id` of a topic event. Opaque to clients, versioned and bounded:
 *
 *   1.<set>.<epoch>-<offset>[.<epoch>-<offset>...].<check>
 *
 * one position per topic of the subscription, in sorted-topic order; `set` names the topic set (a client
 * that comes back with another set cannot resume); `check` catches edited or truncated cursors. Offsets
 * are dense per topic within an epoch, so what a client missed is a range, and a gap is arithmetic.
 * An epoch changes when a topic's history is lost (a Redis without persistence restarted, or history
 * expired): offsets then start again, and cursors of the old epoch cannot be honoured.
 */

export interface Position {
  /** '' before the topic's first event: any epoch then counts as later. */
  epoch: string
  /** Offset of the last event delivered; 0 before the first. */
  offset: number
}

export const CURSOR_VERSION = '1'
/** Longest cursor parsed; anything longer is malformed (it is untrusted input). */
export const MAX_CURSOR_LENGTH = 2048

const EPOCH = /^[0-9a-z]{0,16}$/
const OFFSET = /^[0-9a-z]{1,11}$/

/** FNV-1a, 32 bit: cheap and good enough to tell sets and to catch edits (not a security measure). */
export function fnv1a (text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(36)
}

/** The key of a topic set; `topics` must be sorted and unique. */
export function topicSetKey (topics: readonly string[]): string {
  return fnv1a(topics.join('\n'))
}

/** `1.<set>.` - the fixed start of every cursor of a set. */
export function cursorPrefix (setKey: string): string {
  return `${CURSOR_VERSION}.${setKey}.`
}

export function encodePosition (position: Position): string {
  return `${position.epoch}-${position.offset.toString(36)}`
}

export function sealCursor (body: string): string {
  return `${body}.${fnv1a(body)}`
}

export function encodeCursor (setKey: string, positions: readonly Position[]): string {
  let body = cursorPrefix(setKey)
  for (let i = 0; i < positions.length; i++) body += (i === 0 ? '' : '.') + encodePosition(positions[i])
  return sealCursor(body)
}

export type CursorProblem = 'malformed' | 'topics-changed'

/** The positions of a cursor made for this topic set, or why it cannot be used. */
export function decodeCursor (text: string, setKey: string, count: number): Position[] | CursorProblem {
  if (text.length > MAX_CURSOR_LENGTH) return 'malformed'
  const parts = text.split('.')
  if (parts.length < 4 || parts[0] !== CURSOR_VERSION) return 'malformed'
  const check = parts[parts.length - 1]
  const body = text.slice(0, text.length - check.length - 1)
  if (fnv1a(body) !== check) return 'malformed'
  if (parts[1] !== setKey) return 'topics-changed'
  const fields = parts.slice(2, -1)
  if (fields.length !== count) return 'topics-changed'
  const positions: Position[] = []
  for (const field of fields) {
    const dash = field.indexOf('-')
    const epoch = field.slice(0, dash)
    const offset = field.slice(dash + 1)
    if (dash < 0 || !EPOCH.test(epoch) || !OFFSET.test(offset)) return 'malformed'
    positions.push({ epoch, offset: parseInt(offset, 36) })
  }
  return positions
}
