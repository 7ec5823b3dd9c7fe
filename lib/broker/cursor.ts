/**
 * Resume cursors: the SSE `id` of a topic event. Opaque to clients, versioned and bounded:
 *
 *   2.<set>.<epochs>.<offset>[.<offset>...].<check>
 *
 * one base36 offset per topic of the subscription, in sorted-topic order; `set` names the topic set (a
 * client that comes back with another set cannot resume); `epochs` is one hash of the epochs of the topics
 * it has events of (a change of any epoch resets the whole subscription anyway, so one hash says as much as
 * an epoch per topic did, in a fixed 11 characters); `check` catches edited or truncated cursors.
 * Offsets are dense per topic within an epoch, so what a client missed is a range, and a gap is arithmetic.
 * An epoch changes when a topic's history is lost (a Redis without persistence restarted, or history
 * expired): offsets then start again, and cursors of the old epoch cannot be honoured.
 *
 * Version 1 (`1.<set>.<epoch>-<offset>[...]`, an epoch per topic) made 1,030 characters at 80 topics, and
 * longer ones were dropped as absent (issue 11 #5): it still decodes, so a client that kept one resumes.
 */

export interface Position {
  /** '' before the topic's first event: any epoch then counts as later. */
  epoch: string
  /** Offset of the last event delivered; 0 before the first. */
  offset: number
}

export const CURSOR_VERSION = '2'
/** Most topics one subscription may have: its longest cursor must fit MAX_CURSOR_LENGTH. */
export const MAX_SUBSCRIPTION_TOPICS = 256
/** Longest base36 offset (36^11 > 2^53: every safe integer). */
const MAX_OFFSET_CHARS = 11
/** Longest cursor parsed; anything longer is malformed (it is untrusted input). */
export const MAX_CURSOR_LENGTH = 4096

const EPOCH = /^[0-9a-z]{0,16}$/
const OFFSET = /^[0-9a-z]{1,11}$/
const HASH = /^[0-9a-z]{1,11}$/

/** FNV-1a, 32 bit: cheap and good enough to tell sets and to catch edits (not a security measure). */
export function fnv1a (text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(36)
}

/**
 * A 53-bit hash (cyrb53): the epochs hash decides whether offsets are read in the epoch they were made
 * in, so it gets more bits than the checksum - two epoch sets that collide would replay the wrong events.
 */
export function hash53 (text: string): string {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)
}

/** The key of a topic set; `topics` must be sorted and unique. */
export function topicSetKey (topics: readonly string[]): string {
  return fnv1a(topics.join('\n'))
}

/**
 * The hash of a subscription's epochs. A topic at offset 0 has delivered nothing, so its epoch does not
 * matter (its first events may come in any epoch): it counts as ''.
 */
export function epochsHash (epochs: readonly string[], offsets: readonly number[]): string {
  let text = ''
  for (let i = 0; i < epochs.length; i++) text += (i === 0 ? '' : '.') + (offsets[i] === 0 ? '' : epochs[i])
  return hash53(text)
}

/** `2.<set>.` - the fixed start of every cursor of a set. */
export function cursorPrefix (setKey: string): string {
  return `${CURSOR_VERSION}.${setKey}.`
}

export function sealCursor (body: string): string {
  return `${body}.${fnv1a(body)}`
}

export function encodeCursor (setKey: string, positions: readonly Position[]): string {
  const offsets = positions.map((position) => position.offset)
  let body = cursorPrefix(setKey) + epochsHash(positions.map((position) => position.epoch), offsets)
  for (const offset of offsets) body += '.' + offset.toString(36)
  return sealCursor(body)
}

/** The cursor of a subscription to one topic, after an event at `offset` of `epoch`. */
export function soloCursor (setKey: string, epoch: string, offset: number): string {
  return sealCursor(`${cursorPrefix(setKey)}${epochsHash([epoch], [offset])}.${offset.toString(36)}`)
}

/** The longest cursor of `topics` topics (every offset at its longest): must fit MAX_CURSOR_LENGTH. */
export function longestCursorLength (topics: number): number {
  // version, set (fnv1a: 7), epochs (hash53: 11), offsets, check (7), with their dots.
  return 2 + 7 + 1 + 11 + topics * (1 + MAX_OFFSET_CHARS) + 1 + 7
}

export type CursorProblem = 'malformed' | 'topics-changed'

/**
 * A decoded cursor: one offset per topic, and either one epoch per topic (version 1) or the hash of the
 * epochs (version 2), to be compared with the subscription's current epochs.
 */
export interface DecodedCursor {
  offsets: number[]
  epochs?: string[]
  epochsHash?: string
}

/** The positions of a cursor made for this topic set, or why it cannot be used. */
export function decodeCursor (text: string, setKey: string, count: number): DecodedCursor | CursorProblem {
  if (text.length > MAX_CURSOR_LENGTH) return 'malformed'
  const parts = text.split('.')
  if (parts.length < 4 || (parts[0] !== CURSOR_VERSION && parts[0] !== '1')) return 'malformed'
  const check = parts[parts.length - 1]
  const body = text.slice(0, text.length - check.length - 1)
  if (fnv1a(body) !== check) return 'malformed'
  if (parts[0] === '1') return decodeVersion1(parts, setKey, count)
  if (parts.length < 5 || !HASH.test(parts[2])) return 'malformed'
  if (parts[1] !== setKey) return 'topics-changed'
  const fields = parts.slice(3, -1)
  if (fields.length !== count) return 'topics-changed'
  const offsets: number[] = []
  for (const field of fields) {
    if (!OFFSET.test(field)) return 'malformed'
    offsets.push(parseInt(field, 36))
  }
  return { offsets, epochsHash: parts[2] }
}

function decodeVersion1 (parts: string[], setKey: string, count: number): DecodedCursor | CursorProblem {
  if (parts[1] !== setKey) return 'topics-changed'
  const fields = parts.slice(2, -1)
  if (fields.length !== count) return 'topics-changed'
  const offsets: number[] = []
  const epochs: string[] = []
  for (const field of fields) {
    const dash = field.indexOf('-')
    const epoch = field.slice(0, dash)
    const offset = field.slice(dash + 1)
    if (dash < 0 || !EPOCH.test(epoch) || !OFFSET.test(offset)) return 'malformed'
    epochs.push(epoch)
    offsets.push(parseInt(offset, 36))
  }
  return { offsets, epochs }
}

/** Whether a decoded cursor was made in the given epochs (`epochs[i]` the current epoch of topic i). */
export function sameEpochs (cursor: DecodedCursor, epochs: readonly string[]): boolean {
  if (cursor.epochs !== undefined) {
    // Version 1: a topic at '' / 0 had no events yet, so any epoch is later.
    return cursor.epochs.every((epoch, i) => epoch === epochs[i] || (epoch === '' && cursor.offsets[i] === 0))
  }
  return cursor.epochsHash === epochsHash(epochs, cursor.offsets)
}
