/**
 * An SSE endpoint of a view as a RouteSpec: the route's schema (with the Last-Event-ID inputs and the
 * text/event-stream response documented), and the handler that runs the pre-stream step, opens the
 * stream and pulls the generator through the compiled validator and serializer. It builds view routes,
 * so it lives with the views; the transport it drives (lib/sse) knows nothing of views.
 */
import type { TObject } from '@sinclair/typebox'
import type { FastifyRequest, RouteShorthandOptions } from 'fastify'
import { v7 as uuidv7 } from 'uuid'
import { FVIEWS_ERR_SSE_INVALID_EVENT, FVIEWS_ERR_VIEW_INVALID } from '../errors.js'
import { kControlData, kGeneratedIds, kSerializedData, kStreamRegistry } from '../symbols.js'
import { HttpError } from '../http-errors.js'
import { problemFromHttpError, serverErrorProblem } from '../problem.js'
import { DEFAULT_HEARTBEAT_SECONDS } from '../defaults.js'
import { encodeEvent, encodeFrame } from '../sse/encoder.js'
import { EVENT_STREAM, lastEventIdOf, mountStream, overCapacity } from '../sse/route-options.js'
import { relayProbe, type RelayEncoding, type SharedFrames } from '../sse/relay-push.js'
import { EventStream, type RefusedEvent } from '../sse/stream.js'
import { compileEvents } from './event-schema.js'
import type { RouteSpec } from './route-spec.js'
import type { ServerSentEvent, SSEContext, SSERouteDefinition } from './sse-types.js'
import type { MaybePromise, OperationSchema } from './types.js'
import type { View } from './view.js'

const LAST_EVENT_ID_QUERY = { type: 'string', description: 'Resume point, for clients that cannot send the Last-Event-ID header' }
const LAST_EVENT_ID_HEADER = { type: 'string', description: 'The id of the last event received; sent by EventSource when it reconnects' }

/** Adds an optional property to an object schema (a copy without `$id`: it is no longer that schema). */
function withProperty (schema: TObject | undefined, name: string, property: object): TObject {
  if (schema === undefined) return { type: 'object', properties: { [name]: property } } as unknown as TObject
  const { $id: _id, ...rest } = schema
  return { ...rest, properties: { ...schema.properties, [name]: property } } as unknown as TObject
}

export interface EndpointOptions {
  /** Operation name, used in the operationId. */
  name: string
  path: string
  definition: SSERouteDefinition
  /** Names the endpoint in startup errors: `View.method`. */
  where: string
  detail?: boolean
  routeOptions?: Omit<RouteShorthandOptions, 'schema' | 'handler'>
  /** Runs before anything is streamed: an error here is an ordinary problem document. */
  before?: (view: View, context: SSEContext<any>) => MaybePromise<void>
  /** The events; may be a promise of them, which also runs before anything is streamed. */
  produce: (view: View, context: SSEContext<any>) => MaybePromise<AsyncIterable<ServerSentEvent>>
}

/** The id a refused event carried, when it is one the wire can hold (the failure may be the id itself). */
function refusedId (item: unknown): string | undefined {
  const id = (item as { id?: unknown } | null)?.id
  if (typeof id === 'number' && Number.isFinite(id)) return String(id)
  return typeof id === 'string' && id !== '' && !/[\r\n\0]/.test(id) ? id : undefined
}

/**
 * The `event: error` frame that replaces a failure once streaming has begun; the error is logged. For an
 * event the route refused, the frame carries that event's id: a client resumes after it (EventSource and
 * fastify-views/client take the id of any frame as their Last-Event-ID), so a refused event in a topic's
 * history ends one connection, not every resume for ever. The refusal is logged with the event's topic
 * and id and counted (`refusedEvents`), so it is never silent.
 */
export function errorFrame (request: FastifyRequest, error: unknown, refused?: RefusedEvent): string {
  let id: string | undefined
  if (refused === undefined) {
    request.log.error({ err: error, route: request.routeOptions.url }, 'event stream failed')
  } else {
    id = refusedId(refused.item)
    const item = refused.item as { topic?: unknown, [kSerializedData]?: { topic?: unknown } } | null
    const topic = refused.topic ?? item?.[kSerializedData]?.topic ?? item?.topic
    request.log.error({ err: error, route: request.routeOptions.url, topic: typeof topic === 'string' ? topic : undefined, eventId: id }, 'event stream failed')
    const registry = request.server[kStreamRegistry]
    if (registry !== undefined) registry.counts.refusedEvents++
  }
  // The same decision as an HTTP answer's (problemFor): what a server-side failure may reveal.
  const doc = error instanceof HttpError
    ? problemFromHttpError(error, request)
    : serverErrorProblem(error, request, `The event stream failed; the error was logged with request id ${String(request.id)}`)
  return encodeFrame({ id, event: 'error', data: JSON.stringify(doc) })
}

function checkStreamSettings (definition: SSERouteDefinition, where: string): void {
  const { heartbeatSeconds, retry } = definition
  if (heartbeatSeconds !== undefined && !(Number.isFinite(heartbeatSeconds) && heartbeatSeconds >= 0)) {
    throw new FVIEWS_ERR_VIEW_INVALID(where, `'heartbeatSeconds' must be a number of seconds >= 0 (0 disables), got ${String(heartbeatSeconds)}`)
  }
  if (retry !== undefined && !(Number.isSafeInteger(retry) && retry >= 0)) {
    throw new FVIEWS_ERR_VIEW_INVALID(where, `'retry' must be a non-negative integer of milliseconds, got ${String(retry)}`)
  }
}

/** What a route's streams share: the compiled event schemas, and what was encoded once for all of them. */
interface RouteEncoding {
  events: ReturnType<typeof compileEvents>
  /** Event names this route has already framed (a name is scanned for CR/LF/NUL once). */
  safeNames: Set<string>
  /** Data of shared messages (a broker message relayed to many clients) as this route serialised it. */
  serializedShared: WeakMap<object, { event: string | undefined, data: string }>
  /** Frames of shared messages pushed by relayed subscriptions (relay-push.ts), one per message and route. */
  frames: SharedFrames
}

type EventIdView = View & { eventId?: (event: ServerSentEvent) => unknown }

/**
 * One stream's encoding, for its pull loop (`encode`, `error`) and for a relayed subscription's push side
 * (`event`, `control`, `frames`: a broker subscription the view returns or yield*s pushes through the same
 * encoding, relay-push.ts). One object per connection rather than closures over the handler's scope:
 * closures are what a connection holds many of (and under tsx each named one carries a property
 * dictionary for its `name`; see bench/memory-breakdown.ts).
 */
class StreamEncoding implements RelayEncoding {
  readonly frames: SharedFrames
  private readonly route: RouteEncoding
  private readonly view: EventIdView
  private readonly request: FastifyRequest
  /** The view has its own eventId(), not the generated UUIDs. */
  private readonly custom: boolean

  constructor (route: RouteEncoding, view: EventIdView, request: FastifyRequest) {
    this.route = route
    this.frames = route.frames
    this.view = view
    this.request = request
    this.custom = typeof view.eventId === 'function' && (view.eventId as { [kGeneratedIds]?: boolean })[kGeneratedIds] !== true
  }

  encode (item: ServerSentEvent): string {
    if (item === null || typeof item !== 'object') throw new FVIEWS_ERR_SSE_INVALID_EVENT('expected an object { event, data, id, retry }')
    const { events, safeNames, serializedShared } = this.route
    const event = item.event
    const carried = (item as { [kSerializedData]?: { data: unknown } })[kSerializedData]
    const control = (item as { [kControlData]?: unknown })[kControlData]
    let data: string
    if (control !== undefined && control === item.data && (event === 'subscribed' || event === 'reset')) {
      // The library's own control document, relayed unchanged: framed as written (see kControlData).
      data = JSON.stringify(control)
    } else if (carried !== undefined && carried.data === item.data) {
      // Validated and serialised once per message and route, whatever the number of clients.
      const done = serializedShared.get(carried)
      if (done !== undefined && done.event === event) data = done.data
      else {
        data = events.serialize(event, item.data)
        serializedShared.set(carried, { event, data })
      }
    } else {
      data = events.serialize(event, item.data)
    }
    // Generated UUIDs and event names already seen are known to be safe: only new text is scanned.
    const generated = item.id === undefined && !this.custom
    const id = item.id !== undefined ? item.id : this.custom ? this.view.eventId!(item) : uuidv7()
    const knownEvent = event === undefined || safeNames.has(event)
    const frame = encodeEvent(id as string | number | undefined, event, item.retry, data, events.raw(event), generated, knownEvent)
    if (!knownEvent && safeNames.size < 256) safeNames.add(event as string)
    return frame
  }

  /** The frame that replaces a failure of the source once streaming has begun. */
  error (error: unknown, refused?: RefusedEvent): string | undefined {
    return errorFrame(this.request, error, refused)
  }

  event (source: { readonly event: string, readonly data: unknown }, id: string): string {
    return this.encode({ event: source.event, data: source.data, id, [kSerializedData]: source } as unknown as ServerSentEvent)
  }

  control (event: 'subscribed' | 'reset', data: Record<string, unknown>, id: string): string {
    return this.encode({ event, data, id, [kControlData]: data } as unknown as ServerSentEvent)
  }
}

export function sseEndpoint (options: EndpointOptions): RouteSpec {
  const { definition } = options
  const events = compileEvents(definition, options.where)
  checkStreamSettings(definition, options.where)
  const route: RouteEncoding = { events, safeNames: new Set(), serializedShared: new WeakMap(), frames: new WeakMap() }
  const schema: OperationSchema & { params?: TObject } = {
    summary: definition.summary,
    description: definition.description,
    tags: definition.tags,
    operationId: definition.operationId,
    deprecated: definition.deprecated,
    hide: definition.hide,
    errors: definition.errors,
    security: definition.security,
    querystring: withProperty(definition.querystring, 'lastEventId', LAST_EVENT_ID_QUERY),
    headers: withProperty(definition.headers, 'last-event-id', LAST_EVENT_ID_HEADER),
    response: {
      200: {
        description: 'A stream of Server-Sent Events (text/event-stream); each event is described by the schema',
        content: { [EVENT_STREAM]: { schema: events.documentation, example: definition.example ?? events.example } }
      } as any
    }
  }
  if (definition.params !== undefined) schema.params = definition.params
  for (const key of Object.keys(schema) as Array<keyof typeof schema>) if (schema[key] === undefined) delete schema[key]

  return {
    name: options.name,
    method: 'GET',
    path: options.path,
    schema,
    stream: true,
    mountOptions: mountStream,
    detail: options.detail,
    routeOptions: options.routeOptions,
    invoke: async (view, request, reply) => {
      const registry = request.server[kStreamRegistry]
      const stream = new EventStream(request, reply, registry)
      // Before the pre-stream step awaits anything, so concurrent requests cannot all slip under the limit.
      if (!stream.admit()) throw overCapacity()
      const context: SSEContext<any> = {
        params: request.params as any,
        query: request.query as any,
        headers: request.headers as any,
        request,
        reply,
        lastEventId: lastEventIdOf(request),
        signal: stream.signal
      }
      const target = view as EventIdView & { signal?: AbortSignal, lastEventId?: string, retry?: number }
      target.signal = context.signal
      target.lastEventId = context.lastEventId
      if (options.before !== undefined) await options.before(view, context)
      const iterable = await options.produce(view, context)
      const retry = target.retry ?? definition.retry
      const encoding = new StreamEncoding(route, target, request)
      stream.pull(iterable[Symbol.asyncIterator](), encoding, relayProbe(stream, encoding))
      stream.start({
        heartbeatSeconds: definition.heartbeatSeconds ?? registry?.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS,
        opening: retry === undefined ? undefined : { retry }
      })
      return reply
    }
  }
}
