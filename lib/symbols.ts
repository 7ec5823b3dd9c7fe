/**
 * Symbols shared across floors (as fastify's lib/symbols.js): typed `unique symbol`s, so what they key is
 * checked, with no `(x as any)[Symbol.for(...)]`.
 */

/**
 * On an event stream's `signal`: closes the stream's connection as too slow. A relay fed with that signal
 * (`broker.subscribe(topics, { signal })` in a view) calls it when it overflows: the stream's pump is then
 * waiting for the client to take bytes, not pulling from the relay, so it would never see the relay's error,
 * and the connection of a client that stopped reading would stay open and registered for good.
 */
export const kCloseAsSlow: unique symbol = Symbol('fastify-views.close-as-slow')

declare global {
  interface AbortSignal {
    [kCloseAsSlow]?: (error: Error) => void
  }
}
