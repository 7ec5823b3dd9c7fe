/**
 * Event maps for the test helpers, derived from what the server already declares: a view's or an
 * `@sseRoute`'s definition gives each event name its data type, and a topic stream adds its control events.
 * Types only.
 */
import type { ResetReason } from '../broker/subscription.js'
import type { DefinitionEvents, ViewEventsOf } from '../client/types.js'

/**
 * Event name to data type of a ServerSideEventsView class, or of an SSE definition object (the one given
 * to `ServerSideEventsView(...)` or `@sseRoute(...)`): `EventsOf<typeof Prices>`. The client's
 * `ViewEventsOf` (what `connect<typeof Prices>()` types a stream by): one definition, so a test and a
 * client read a view's events alike.
 */
export type EventsOf<V> = ViewEventsOf<V>

/** Event name to data type of one SSE definition: the client's `DefinitionEvents`. */
export type EventsOfDefinition<D> = DefinitionEvents<D>

/** The events fastify-views itself sends on a topic stream (SubscriptionView, subscribeToEvents, ssePath). */
export interface TopicControlEvents {
  /** The stream is live: the topics it carries, deduplicated. */
  subscribed: { topics: string[] }
  /** The missed events cannot be replayed: refetch state over REST. */
  reset: { reason: ResetReason, topics: string[] }
  /** With `heartbeat: 'event'`: a keep-alive frame. */
  heartbeat: Record<string, never>
}

/** A topic stream carrying `M` (topic event name to data type) and the control events. */
export type TopicStreamEvents<M = Record<string, unknown>> = TopicControlEvents & M
