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

/**
 * On a `subscribed` or `reset` item of `broker.subscribe()`: its data, the library's own control document.
 * A view that relays the item unchanged frames it as the library wrote it, not through the view's data
 * schema, which describes the topics' events: a `{ id }` schema refused `subscribed` (an error frame on every
 * connect) and a union stripped a reset's `reason` (found by an outside review).
 */
export const kControlData: unique symbol = Symbol('fastify-views.control-data')

/**
 * On a topic event of `broker.subscribe()`: the broker message its data came from. When the yielded data is
 * still that message's, an SSE route serialises it once and every client of the route reuses the text.
 * Never the broker's JSON as is: it may hold properties the view's schema does not declare (a
 * `passwordHash`), and what leaves is what the schema declares (issue 11 #13). Here, not in the SSE route
 * builder, so the broker that sets it does not load the route builder (and its schema compilers).
 */
export const kSerializedData: unique symbol = Symbol.for('fastify-views.serialized-data')

/**
 * The stream registry of an app (sse/registry.ts), decorated on the root by configureApp, else on the
 * router's scope. Symbol.for: every copy of the library loaded into one app shares one registry.
 */
export const kStreamRegistry: unique symbol = Symbol.for('fastify-views.stream-registry')

/** The topic runtime (broker, metrics, authorize) of a scope (topics/subscription-view.ts). */
export const kTopicRuntime: unique symbol = Symbol.for('fastify-views.topic-runtime')

/** The options the fastify-views plugin was registered with in a scope: a second registration is compared. */
export const kConfiguredScope: unique symbol = Symbol('fastify-views.configured-scope')

/** On a view method: the route tag its decorator left (views/route-tags.ts). */
export const kRouteTag: unique symbol = Symbol.for('fastify-views.route-tag')

/** On an `eventId()` method: its ids are generated UUIDs, safe without a scan (views/sse-endpoint.ts). */
export const kGeneratedIds: unique symbol = Symbol.for('fastify-views.generated-ids')

/**
 * On an event stream's `signal`: registers a relay fed with that signal (`broker.subscribe(topics, { signal })`
 * looped over with `for await` in a view), so the stream counts what the relay holds for its client. On the
 * pull path the stream's own buffers stay near the response's high-water mark while the relay's queue grows:
 * the heartbeat sweep looked at the socket alone, and a reader that stopped after a burst on a topic that then
 * fell quiet was never closed (7-10 MB held against a 1 MiB budget, found by an outside review).
 */
export const kPullSource: unique symbol = Symbol('fastify-views.pull-source')

/** What a relay pulled by an event stream tells the stream (see kPullSource). */
export interface PullSource {
  /** The relay's byte budget: the most the stream may hold for its client, the relay's queue included. */
  readonly budgetBytes: number
  /** True once the relay has ended (its stream lets go of it). */
  readonly done: boolean
  /** Bytes of events queued for the stream and not pulled yet. */
  heldBytes (): number
  /**
   * Of them, those queued before the last turn of the event loop: the stream pulls them all in this turn
   * (while the response takes them), not one piece per turn, so the pull path keeps up with sustained bursts.
   */
  staleBytes (): number
  /** True while the relay's replay waits for the stream to take what it queued (a stalled replay is closed). */
  replayWaits (): boolean
  /** The topic of the event with cursor `id`, when it is the last one the relay handed out. */
  topicOf (id: unknown): string | undefined
}

declare global {
  interface AbortSignal {
    [kCloseAsSlow]?: (error: Error) => void
    [kPullSource]?: (source: PullSource) => void
  }
}

/**
 * On the object an event stream passes to every `next()` of its source: where a topic subscription may
 * push its events instead of being pulled. A `broker.subscribe()` iterator that receives it - it is the
 * source itself, or reached through `yield*`, which hands `next()`'s argument on (a `for await` loop does
 * not, so a view that looks at or changes events keeps the pull path) - writes each event through the
 * route's encoding as a frame shared by the route's streams, with no Promise or IteratorResult per event
 * per client (issue 14 #3). A generator that reads the value of its own `yield` sees this object.
 */
export const kPushTarget: unique symbol = Symbol('fastify-views.push-target')

/**
 * What a `broker.subscribe()` iterator that pushes (kPushTarget) answers the pump's `next()` with, as an
 * item's value: the pump stops pulling. Nothing then waits per connection - no pending `next()` promise
 * chain from the subscription through the view's generator to a suspended pump (~1 KB per relay
 * connection, bench/memory-breakdown.ts) - and the generator stays paused at its `yield*`, where the
 * stream's `return()` finds it when the stream ends (its `finally` runs, as before). The pump pulls again
 * when the subscription calls the target's `resume()`: it failed, and its next `next()` throws the failure
 * into the generator, as the pull path would; or it ended while the stream goes on (a signal of its own
 * aborted), and its next `next()` is done, so the generator goes on after its `yield*`.
 */
export const kPushParked: unique symbol = Symbol('fastify-views.push-parked')

/** A stream's push side, as a topic subscription sees it (see kPushTarget). */
export interface PushTarget {
  /** The subscription pushes from now on; the stream closes its connection past `budgetBytes` unsent. */
  attach (budgetBytes: number): void
  /**
   * A topic event: `source` is the shared message (its event name and parsed data), `id` its cursor for
   * this subscription; `shared` when every subscription of the route to this topic alone has that id.
   */
  event (source: { readonly event: string, readonly data: unknown, readonly topic?: string }, id: string, shared: boolean, now: number): void
  /**
   * Consecutive events of one topic for a subscription to it alone, `sources[from..]`, at once: `key` is
   * the same object for every subscription handed them (their frames are joined once per route), `idOf`
   * gives each one's cursor.
   */
  events (key: object, sources: ReadonlyArray<{ readonly event: string, readonly data: unknown, readonly topic?: string }>, from: number, idOf: (index: number) => string, now: number): void
  control (event: 'subscribed' | 'reset', data: Record<string, unknown>, id: string): void
  /** Backpressure for a replay, as SubscriptionSink.ready. */
  ready (): Promise<void> | undefined
  /** The subscription failed or ended: the stream's pump, parked (kPushParked), pulls again to meet it. */
  resume (): void
}

export interface PushProbe {
  readonly [kPushTarget]: PushTarget
}
