/**
 * Topic names: what is accepted, how a list is read from `?topic=a,b`, how a topic is inferred from a
 * route template, and conventional names (fastapi-sse-events' TopicBuilder).
 */

export interface TopicRules {
  /** Longest accepted name (default 256). */
  maxLength?: number
}

export const DEFAULT_MAX_TOPIC_LENGTH = 256

/** Why `topic` is not acceptable, or undefined when it is. */
export function topicProblem (topic: string, rules: TopicRules = {}): string | undefined {
  const maxLength = rules.maxLength ?? DEFAULT_MAX_TOPIC_LENGTH
  if (topic.length === 0) return 'empty'
  if (topic.length > maxLength) return `longer than ${maxLength} characters`
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\0-\x1f\x7f]/.test(topic)) return 'contains a control character'
  if (/\s/.test(topic)) return 'contains whitespace'
  if (topic.includes(',')) return 'contains a comma (the separator of topic lists)'
  return undefined
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
