/**
 * Types of SSE routes, inferred from their definition: the yielded event's `data` is checked against the
 * data schema at compile time (and validated at run time), the context's params, query and headers come
 * from their schemas. Nothing here exists at run time.
 */
import type { Static, TObject, TSchema } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Member, OperationDocs, StaticOf } from './types.js'
import type { EventSchemaDefinition } from './event-schema.js'

/** One event as a view yields it. `id` undefined: the view's `eventId()`; null: no id. */
export interface ServerSentEvent<T = unknown> {
  event?: string
  data: T
  id?: string | number | null
  retry?: number
}

/** The definition of one SSE route: its input schemas, its events, its stream settings and docs. */
export interface SSERouteDefinition extends EventSchemaDefinition, OperationDocs {
  params?: TObject
  querystring?: TObject
  headers?: TObject
  /** Seconds of silence before a heartbeat comment; 0 disables. Default: the app's (15). */
  heartbeatSeconds?: number
  /** Reconnection delay sent to the client when the stream opens, in milliseconds. */
  retry?: number
  /** Error statuses to document beyond those the framework adds. */
  errors?: number[]
  /** A raw text/event-stream example for the docs; default: one built from the schemas. */
  example?: string
}

export type EventMapOf<D> = D extends { events: infer M }
  ? M extends readonly string[] ? never : M extends Readonly<Record<string, TSchema>> ? M : never
  : never

export type ListedNamesOf<D> = D extends { events: readonly (infer N extends string)[] } ? N : never

/** The names a route may send: the listed ones, the keys of a per-event schema map, or any string. */
export type EventNameOf<D> = [EventMapOf<D>] extends [never]
  ? [ListedNamesOf<D>] extends [never] ? string : ListedNamesOf<D>
  : keyof EventMapOf<D> & string

/** The data of one event named K. */
export type EventDataFor<D, K> = [EventMapOf<D>] extends [never]
  ? StaticOf<Member<D, 'data'>, unknown>
  : K extends keyof EventMapOf<D> ? Static<EventMapOf<D>[K]> : never

/** The data of any event of the route. */
export type EventDataOf<D> = EventDataFor<D, EventNameOf<D>>

/** An event whose name is one the route declares: the name is required. */
export interface NamedServerSentEvent<K extends string, T> extends ServerSentEvent<T> {
  event: K
}

/** Does the definition declare its event names (a list, or a schema per name)? */
export type DeclaresNames<D> = [EventMapOf<D>] extends [never] ? [ListedNamesOf<D>] extends [never] ? false : true : true

/**
 * Exactly the events of the route: with declared names, one member per name (its data by its own schema
 * with a schema per name), so a misspelt name, a missing one or one name's data under another is a
 * compile error. It checks a bare `yield` only where the generator has this type as its contextual
 * type: annotate the generator with `SSEStream<...>` (or `this['stream']` in a ServerSideEventsView).
 */
export type StrictEventOf<D> = DeclaresNames<D> extends true
  ? { [K in EventNameOf<D>]: NamedServerSentEvent<K, EventDataFor<D, K>> }[EventNameOf<D>]
  : ServerSentEvent<EventDataFor<D, string>>

/**
 * What a route's generator may yield. TypeScript gives an un-annotated generator method no contextual
 * type, so `yield { event: 'price', ... }` there has the type `{ event: string }`: the declared names
 * cannot be told apart from a misspelt one. Such a yield is accepted when it names an event at all and
 * its data fits one of the route's schemas; StrictEventOf (via SSEStream) checks everything.
 */
export type EventOf<D> = DeclaresNames<D> extends true
  ? StrictEventOf<D> | NamedServerSentEvent<string & {}, EventDataOf<D>>
  : StrictEventOf<D>

/** The type to annotate an SSE generator with, so that each `yield` is checked name by name. */
export type SSEStream<D> = AsyncGenerator<StrictEventOf<D>, void, undefined>

/**
 * What an SSE route's generator receives (also on `this` in a ServerSideEventsView). `P` is the type of
 * the params: on a detail `@sseRoute` of a generic view, `SSEContext<typeof definition, this['params']>`
 * gives the `:id` the type of the view's `id` schema.
 */
export interface SSEContext<D = SSERouteDefinition, P = StaticOf<Member<D, 'params'>, Record<string, string>>> {
  params: P
  query: StaticOf<Member<D, 'querystring'>, Record<string, unknown>>
  headers: StaticOf<Member<D, 'headers'>, Record<string, string | string[] | undefined>>
  request: FastifyRequest
  reply: FastifyReply
  /** From the Last-Event-ID header, or `?lastEventId=` for clients that cannot set headers. Untrusted input. */
  lastEventId: string | undefined
  /** Aborted when the client disconnects or the app closes: race every wait against it. */
  signal: AbortSignal
}
