/**
 * Types of SSE routes, inferred from their definition: the yielded event's `data` is checked against the
 * data schema at compile time (and validated at run time), the context's params, query and headers come
 * from their schemas. Nothing here exists at run time.
 */
import type { Static, TObject, TSchema } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Member, OperationDocs, StaticOf } from '../views/types.js'
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

type EventMapOf<D> = D extends { events: infer M }
  ? M extends readonly string[] ? never : M extends Readonly<Record<string, TSchema>> ? M : never
  : never

/** The names a route may send: the listed ones, the keys of a per-event schema map, or any string. */
export type EventNameOf<D> = [EventMapOf<D>] extends [never]
  ? D extends { events: readonly (infer N extends string)[] } ? N : string
  : keyof EventMapOf<D> & string

/** The data of one event named K. */
export type EventDataFor<D, K> = [EventMapOf<D>] extends [never]
  ? StaticOf<Member<D, 'data'>, unknown>
  : K extends keyof EventMapOf<D> ? Static<EventMapOf<D>[K]> : never

/** The data of any event of the route. */
export type EventDataOf<D> = EventDataFor<D, EventNameOf<D>>

/** What the route's generator yields. */
export type EventOf<D> = ServerSentEvent<EventDataOf<D>>

/** What an SSE route's generator receives (also on `this` in a ServerSideEventsView). */
export interface SSEContext<D = SSERouteDefinition> {
  params: StaticOf<Member<D, 'params'>, Record<string, string>>
  query: StaticOf<Member<D, 'querystring'>, Record<string, unknown>>
  headers: StaticOf<Member<D, 'headers'>, Record<string, string | string[] | undefined>>
  request: FastifyRequest
  reply: FastifyReply
  /** From the Last-Event-ID header, or `?lastEventId=` for clients that cannot set headers. Untrusted input. */
  lastEventId: string | undefined
  /** Aborted when the client disconnects or the app closes: race every wait against it. */
  signal: AbortSignal
}
