/**
 * When to try again: exponential backoff with jitter (so that clients dropped together do not come back
 * together), and the server's own `Retry-After` on a 503 or 429, which is a lower bound. Pure.
 */

export interface BackoffOptions {
  /** The first wait in ms; the server's `retry:` field replaces it. Default 1000. */
  initialDelayMs?: number
  /** The longest wait in ms. Default 30000. */
  maxDelayMs?: number
  /** A number in [0, 1); tests pass a fixed one. Default Math.random. */
  random?: () => number
}

/**
 * The wait before attempt `attempt` (1 for the first retry after a healthy connection): the doubling
 * delay, capped, of which the upper half is random ("equal jitter": never less than half the delay).
 */
export function backoffDelay (attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30))
  return Math.round(ceiling / 2 + random() * ceiling / 2)
}

/** `Retry-After` in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs (header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined
  const text = header.trim()
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000
  // An HTTP date names its day and month in letters; Date.parse would also read '-1' as a year.
  const date = /^[A-Za-z]{3}, /.test(text) ? Date.parse(text) : Number.NaN
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * The wait after a refused attempt that said when to come back: at least what it said, plus up to a
 * quarter more of it (at most a second more) so that a crowd told the same thing spreads out.
 */
export function retryAfterDelay (afterMs: number, random: () => number): number {
  return Math.round(afterMs + random() * Math.min(afterMs / 4, 1000))
}
