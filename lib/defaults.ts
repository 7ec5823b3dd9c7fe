/**
 * Values the library falls back on or answers with in several places, written once: a stream's default
 * heartbeat and the Retry-After of each kind of temporary refusal.
 */

/** Seconds of silence before a stream's heartbeat comment, when neither the stream nor the app sets one. */
export const DEFAULT_HEARTBEAT_SECONDS = 15

/**
 * Retry-After (seconds) of a refusal that clears in moments: the connection limit (another stream ends, a
 * load balancer tries another instance) and a broker that did not answer a subscribe.
 */
export const RETRY_AFTER_BUSY_SECONDS = 2

/** Retry-After (seconds) of an unhealthy health check: the instance is leaving, or its broker is unusable. */
export const RETRY_AFTER_UNHEALTHY_SECONDS = 5
