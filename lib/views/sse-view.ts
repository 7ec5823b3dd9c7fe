/**
 * `ServerSideEventsView(definition)`: a view whose `events()` async generator is served as a stream of
 * Server-Sent Events at the view's prefix (fastapi-views' ServerSideEventsAPIView).
 *
 *   class Prices extends ServerSideEventsView({ querystring: Type.Object({ symbol: Type.String() }), data: StockPrice, events: ['price'] }) {
 *     async * events () {
 *       while (!this.signal.aborted) {
 *         yield { event: 'price', data: await nextPrice(this.query.symbol, this.signal) }
 *       }
 *     }
 *   }
 *
 * Each yielded `{ event, data, id, retry }` is type-checked against the definition at compile time,
 * validated by a compiled validator at run time, serialised by a compiled serializer and framed by the
 * framework. `beforeStream()` runs before anything is streamed: throw an HttpError there to refuse the
 * request with an ordinary problem document (unknown resource, not allowed).
 */
import { v7 as uuidv7 } from 'uuid'
import { collectActions } from './route-tags.js'
import type { DefinedViewClass, TypedView } from './api-view.js'
import type { RouteSpec } from './route-spec.js'
import type { MaybePromise, SharedSchema } from './types.js'
import { View } from './view.js'
import { sseEndpoint } from './sse-endpoint.js'
import { kGeneratedIds } from '../symbols.js'
import type { EventDataFor, EventNameOf, EventOf, NamedServerSentEvent, ServerSentEvent, SSEContext, SSERouteDefinition } from './sse-types.js'

export interface SSEViewDefinition extends SSERouteDefinition, SharedSchema {}

export interface SSEViewInstance<D extends SSEViewDefinition> extends TypedView<D> {
  /** Aborted when the client disconnects or the app closes: race every wait against it. */
  readonly signal: AbortSignal
  /** The Last-Event-ID the client sent (header or `?lastEventId=`); untrusted input. */
  readonly lastEventId: string | undefined
  /** Reconnection delay (ms) sent when the stream opens; overrides the definition's `retry`. */
  retry?: number
  /** The id of an event that yields none: a fresh time-ordered UUID (v7) by default. */
  eventId (event: EventOf<D>): string | number | undefined
  /** Builds an event with its data typed by its name (useful with a schema per event name). */
  event<K extends EventNameOf<D>> (name: K, data: EventDataFor<D, K>, fields?: { id?: string | number | null, retry?: number }): NamedServerSentEvent<K, EventDataFor<D, K>>
  /** Runs before anything is streamed; throw an HttpError to answer with a problem document instead. */
  beforeStream? (): MaybePromise<void>
  /**
   * The stream. `ctx` holds what `this` holds; type it with `SSEContext<typeof definition>` if you use it.
   * Annotate it `SSEStream<typeof View.definition>` to have every bare `yield` checked name by name.
   */
  events? (ctx: SSEContext<D>): AsyncIterable<EventOf<D>>
}

export class SSEViewBase extends View {
  static override definition: SSEViewDefinition = {}
  declare signal: AbortSignal
  declare lastEventId: string | undefined
  declare retry?: number

  eventId (_event: ServerSentEvent): string | number | undefined {
    return uuidv7()
  }

  event (name: string, data: unknown, fields: { id?: string | number | null, retry?: number } = {}): ServerSentEvent {
    return { ...fields, event: name, data }
  }

  static override collectRoutes (): RouteSpec[] {
    const specs: RouteSpec[] = []
    if (typeof (this.prototype as any).events === 'function') {
      specs.push(sseEndpoint({
        name: 'events',
        path: '',
        definition: this.definition,
        where: this.name,
        before: (view) => (view as any).beforeStream?.(),
        produce: (view, context) => (view as any).events(context)
      }))
    }
    return [...specs, ...collectActions(this)]
  }
}

// The default ids are generated UUIDs: the framing does not need to scan them for line breaks.
Object.defineProperty(SSEViewBase.prototype.eventId, kGeneratedIds, { value: true })

export function ServerSideEventsView<const D extends SSEViewDefinition> (definition: D): DefinedViewClass<D, SSEViewInstance<D>> {
  return class extends SSEViewBase {
    static override definition: SSEViewDefinition = definition
  } as unknown as DefinedViewClass<D, SSEViewInstance<D>>
}
