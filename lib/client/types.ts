/**
 * The client's types, derived from the server's own definitions by a type import - nothing here exists at
 * run time, and no server code is loaded by the client:
 *
 * - a view: `connect<typeof Prices>(url)` for a ServerSideEventsView class, its definition object, or an
 *   `@sseRoute` method's type (`Tasks['prototype']['changes']`) - one listener type per declared event name;
 * - a topic catalog: `topics<typeof catalog>([...])` reads the catalog's phantom `'~topics'` member,
 *   `{ [template]: { [event]: data } }`, keyed by the template as declared (`'task:{id}'`); a plain map of
 *   that shape is accepted too. Templates become template-literal types (`task:${string}`), so a topic
 *   the catalog does not declare does not compile.
 */
import type { ResetReason } from '../broker/subscription.js'
import type { DeclaresNames, EventDataFor, EventNameOf } from '../views/sse-types.js'

/** Event name -> parsed data. */
export type EventMap = { [event: string]: unknown }

/** What any stream may carry when nothing is known of it. */
export type UntypedEvents = { [event: string]: unknown }

/** The events of an SSE route definition (what ServerSideEventsView and @sseRoute take). */
export type DefinitionEvents<D> = DeclaresNames<D> extends true
  ? { [K in EventNameOf<D>]: EventDataFor<D, K> }
  : { [event: string]: EventDataFor<D, string> }

export type YieldedName<E> = E extends { event: infer N extends string } ? (string extends N ? never : N) : never

/** The events of what a generator yields (`{ event, data }` items), for an @sseRoute method's type. */
export type YieldedEvents<E> = [YieldedName<E>] extends [never]
  ? { [event: string]: E extends { data: infer T } ? T : unknown }
  : { [K in YieldedName<E>]: E extends { event: K, data: infer T } ? T : never }

/**
 * The event map of `connect<S>`: S is a view class (it has a static `definition`), an @sseRoute method
 * (a function returning an async iterable), a route definition object, or an event map written by hand.
 */
export type ViewEventsOf<S> = unknown extends S
  ? UntypedEvents
  : S extends { readonly definition: infer D }
    ? DefinitionEvents<D>
    : S extends (...args: any[]) => infer R
      ? Awaited<R> extends AsyncIterable<infer E> ? YieldedEvents<E> : UntypedEvents
      : S extends { data?: unknown, events?: unknown } & ({ data: unknown } | { events: unknown })
        ? DefinitionEvents<S>
        : S extends EventMap ? S : UntypedEvents

/** A catalog's topic map: its phantom `'~topics'` member, or the map itself. */
export type TopicMapOf<C> = C extends { readonly '~topics': infer M } ? M : C

/** `task:{id}` -> `task:${string}`: every `{param}` of a template matches any text. */
export type TopicPattern<T extends string> = T extends `${infer Head}{${string}}${infer Tail}`
  ? `${Head}${string}${TopicPattern<Tail>}`
  : T

export type Templates<C> = keyof TopicMapOf<C> & string

/** The topic names a catalog accepts (any string without a catalog). */
export type TopicNameOf<C> = unknown extends C ? string : { [K in Templates<C>]: TopicPattern<K> }[Templates<C>]

/** The templates of the catalog that any of the topics T matches. */
export type MatchedTemplates<C, T extends string> = { [K in Templates<C>]: T extends TopicPattern<K> ? K : never }[Templates<C>]

export type EventsOfTemplates<M, K extends keyof M> = {
  [E in (K extends unknown ? keyof M[K] : never) & string]: K extends unknown ? (E extends keyof M[K] ? M[K][E] : never) : never
}

/** The events a subscription to topics T of catalog C can carry: each name with the union of its data. */
export type TopicEventsOf<C, T extends string = TopicNameOf<C>> = unknown extends C
  ? UntypedEvents
  : EventsOfTemplates<TopicMapOf<C>, MatchedTemplates<C, T> & keyof TopicMapOf<C>>

/** What a listener receives beside the data. */
export interface EventMeta<K extends string = string> {
  /** The event name. */
  event: K
  /** The event's id: on a topic stream, the resume cursor after this event. */
  lastEventId: string
  /** The raw `data` text, before parsing. */
  raw: string
}

/** The data of a topic stream's `reset` event: the missed events cannot be replayed, so refetch state. */
export interface ResetInfo {
  reason: ResetReason | (string & {})
  topics: string[]
}

/** An RFC 9457 problem document, as the server answers errors. */
export interface ProblemDocument {
  type: string
  title: string
  status: number
  detail?: string
  instance?: string
  code?: string
  [extension: string]: unknown
}

/**
 * - `connecting`: the first attempt; `open`: the stream answered and is being read;
 * - `reconnecting`: waiting for (or making) a further attempt; `closed`: closed by the user, or a final error.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** Why the client reconnects (sent with the `reconnecting` state). */
export type ReconnectReason = 'ended' | 'network' | 'status' | 'silent' | 'server-error'

export interface StateChange {
  state: ConnectionState
  /** With `reconnecting`: why, which attempt this is since the last healthy connection (1, 2, ...), and the wait in ms. */
  reason?: ReconnectReason
  attempt?: number
  delayMs?: number
  /** The HTTP status of the refused attempt (with reason `status`). */
  status?: number
}
