/**
 * Topic names: what is accepted, how a list is read from `?topic=a,b`, how a topic is inferred from a
 * route template, and conventional names (fastapi-sse-events' TopicBuilder).
 */
import { printableText } from '../problem.js'

export interface TopicRules {
  /** Longest accepted name (default 256). */
  maxLength?: number
}

export const DEFAULT_MAX_TOPIC_LENGTH = 256

/**
 * Characters refused in a name, and why. Control characters (C0, DEL, C1 U+0080-U+009F) would corrupt
 * logs and terminals when a name is shown; format characters (Unicode Cf: bidi overrides and isolates,
 * zero-width spaces and joiners, the soft hyphen, U+FEFF) make two different names look the same or
 * reorder the text around them (Trojan Source); a lone surrogate has no UTF-8 form, so Redis would get
 * U+FFFD and two names would meet in one key. `\s` also covers U+2028/U+2029 (line and paragraph separators)
 * and every other Unicode space. Braces are the Redis Cluster hash tag: the broker puts every key and the
 * channel of a topic under `{topic}`, so a `}` in the name splits them across slots (CROSSSLOT on every
 * publish) and a `{` lets callers choose slots; refusing them keeps the key layout simple and safe.
 */
// Unicode general categories, matched by code point (the `u` flag): Cc is C0, DEL and C1; Cs matches only a
// surrogate that is not half of a pair.
const CONTROL = /\p{Cc}/u
const FORMAT = /\p{Cf}/u
const LONE_SURROGATE = /\p{Cs}/u

/** Why `topic` is not acceptable, or undefined when it is. */
export function topicProblem (topic: string, rules: TopicRules = {}): string | undefined {
  const maxLength = rules.maxLength ?? DEFAULT_MAX_TOPIC_LENGTH
  if (topic.length === 0) return 'empty'
  if (topic.length > maxLength) return `longer than ${maxLength} characters`
  if (CONTROL.test(topic)) return 'contains a control character'
  if (/\s/.test(topic)) return 'contains whitespace'
  if (FORMAT.test(topic)) return 'contains an invisible formatting character (bidi control, zero-width character, soft hyphen)'
  if (LONE_SURROGATE.test(topic)) return 'contains a lone UTF-16 surrogate (not valid Unicode text)'
  if (topic.includes(',')) return 'contains a comma (the separator of topic lists)'
  if (topic.includes('{') || topic.includes('}')) return 'contains a brace (braces choose Redis Cluster slots)'
  return undefined
}

/**
 * A (possibly refused) name as it may appear in an error message: at most 64 UTF-16 units, with control,
 * formatting, lone-surrogate and whitespace characters other than a plain space written as `\uXXXX`
 * (`\u{XXXXX}` beyond the BMP), so a message never carries them back to a client, a log or a terminal.
 */
export function printableTopic (topic: string): string {
  return printableText(topic, 64)
}

/** `a,b` -> ['a', 'b']; empty items are kept so they can be refused by name. */
export function parseTopicList (value: string): string[] {
  return value.split(',')
}

/**
 * The topic of a route template: `/api/v1/threads/:threadId/comments` -> `threads.comments`. Drops `api`,
 * version segments (`v1`, `v2.1`) and parameters; reads the template, never the concrete URL.
 */
export function inferTopicFromRoute (template: string): string {
  const segments = template.split('/').filter((segment) => segment !== '' &&
    segment !== 'api' &&
    !/^v\d+(\.\d+)*$/i.test(segment) &&
    !segment.startsWith(':') && !segment.startsWith('*') && !/^\{.*\}$/.test(segment))
  return segments.length === 0 ? 'root' : segments.join('.')
}

/** Conventional topic names; plain strings work just as well. */
export const TopicBuilder = {
  comment: (id: string | number): string => `comment:${id}`,
  task: (id: string | number): string => `task:${id}`,
  workspace: (id: string | number): string => `workspace:${id}`,
  user: (id: string | number): string => `user:${id}`,
  custom: (resource: string, id: string | number): string => `${resource}:${id}`
} as const
