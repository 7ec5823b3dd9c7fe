/**
 * closeOnSignals(app): a graceful stop for a process that serves event streams. On the first SIGTERM or
 * SIGINT, /health turns 503 (for `unhealthyFirstMs`, while the instance still serves), then the app closes - it stops accepting connections and drains its streams over `drainMs`, so their
 * clients reconnect elsewhere and resume - and the process exits. A signal that arrives again while closing
 * is ignored (process managers and `tsx` may pass the same one on: the default action would cut streams
 * mid-drain), and the process never waits longer than `timeoutMs`.
 *
 * Not close-with-grace (2.5): on a second signal it always exits with code 1, even with `onSecondSignal`
 * (the callback runs, then `process.exit(1)`), which is the mid-drain cut this function exists to avoid
 * (test/app/close-on-signals.test.ts sends SIGTERM twice); and it cannot hold /health at 503 before closing.
 */
import type { FastifyInstance } from 'fastify'
import { kStreamRegistry } from '../symbols.js'

export interface CloseOnSignalsOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[]
  /** The longest the close may take before the process exits anyway, with code 1 (default 10,000 ms). */
  timeoutMs?: number
  /**
   * Answer /health with 503 for this long before closing, while still serving, so a load balancer that
   * polls it takes the instance out of rotation before its streams end (default 0).
   */
  unhealthyFirstMs?: number
}

/** Installs the handlers; returns a function that removes them. */
export function closeOnSignals (app: FastifyInstance, options: CloseOnSignalsOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT']
  const timeoutMs = options.timeoutMs ?? 10_000
  let closing = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) return
    closing = true
    const unhealthyFirstMs = options.unhealthyFirstMs ?? 0
    app.log.info({ signal, unhealthyFirstMs }, 'closing: leaving the pool, then draining event streams')
    setTimeout(() => {
      app.log.error({ timeoutMs }, 'close did not finish in time; exiting')
      process.exit(1)
    }, timeoutMs + unhealthyFirstMs).unref()
    const registry = app[kStreamRegistry]
    if (registry !== undefined) registry.leaving = true
    setTimeout(() => {
      app.close().then(() => process.exit(0), (error: unknown) => {
        app.log.error({ err: error }, 'close failed')
        process.exit(1)
      })
    }, unhealthyFirstMs)
  }
  for (const signal of signals) process.on(signal, onSignal)
  return () => { for (const signal of signals) process.off(signal, onSignal) }
}
