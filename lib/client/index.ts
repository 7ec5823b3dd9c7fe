/**
 * `fastify-views/client`: typed, resuming Server-Sent Events for browsers and Node (>= 20), typed from the
 * server's own definitions by a type import - no code generation, no framework, no server code at run time.
 *
 *   import type { catalog } from '../server/topics.js'
 *   import type { Prices } from '../server/prices.js'
 *   const client = createClient<typeof catalog>({ baseUrl: 'https://api.example.com' })
 *   client.topics(['task:42']).on('updated', (task) => render(task))   // task: Task
 *   client.connect<typeof Prices>('/prices?symbol=ACME').on('price', (price) => show(price))
 */
import { EventStream, type EventStreamOptions } from './event-stream.js'
import type { TopicEventsOf, TopicNameOf, ViewEventsOf } from './types.js'

export { EventStream, HEARTBEAT_HEADER } from './event-stream.js'
export type { EventSourceConstructor, EventSourceLike, EventStreamOptions, FetchLike, HeadersOption, ResponseLike } from './event-stream.js'
export { CLIENT_ERROR_CODES, EventStreamError, type ClientErrorCode } from './errors.js'
export { backoffDelay, retryAfterMs, retryAfterDelay, type BackoffOptions } from './backoff.js'
export { EventStreamParser, type ParsedEvent, type ParserHandlers } from './sse-parser.js'
export type {
  ConnectionState, DefinitionEvents, EventMap, EventMeta, MatchedTemplates, ProblemDocument, ReconnectReason, ResetInfo,
  StateChange, TopicEventsOf, TopicMapOf, TopicNameOf, TopicPattern, UntypedEvents, ViewEventsOf, YieldedEvents,
  EventsOfTemplates, Templates, YieldedName
} from './types.js'

/** A stream of a view (ServerSideEventsView or @sseRoute), typed by `S`. */
export function connect<S = unknown> (url: string | URL, options?: EventStreamOptions): EventStream<ViewEventsOf<S>> {
  return new EventStream<ViewEventsOf<S>>(url, options, 'view')
}

/** The URL of a subscription: `?topic=a,b` on the endpoint's URL. */
export function topicsUrl (url: string | URL, topics: readonly string[], baseUrl?: string | URL): URL {
  const page = (globalThis as { location?: { href: string } }).location?.href
  const target = new URL(url, baseUrl ?? page)
  target.searchParams.set('topic', topics.join(','))
  return target
}

/**
 * A subscription to topics at a SubscriptionView's URL, typed by the catalog `C`. Named topics narrow the
 * events to their templates' (`subscribe<typeof catalog>(...)` types every event of the catalog: TypeScript
 * infers no type argument once one is given - `createClient<typeof catalog>()` then `client.topics([...])`
 * narrows).
 */
export function subscribe<C = unknown, const T extends TopicNameOf<C> = TopicNameOf<C>> (url: string | URL, topics: readonly T[], options: EventStreamOptions = {}): EventStream<TopicEventsOf<C, T>> {
  return new EventStream<TopicEventsOf<C, T>>(topicsUrl(url, topics, options.baseUrl), options, 'topics')
}

export interface ClientOptions extends EventStreamOptions {
  /** The SubscriptionView's path (default `/events`). */
  topicsPath?: string
}

/** Options for one stream of a client: they add to (and override) the client's. */
export type StreamOptions = Omit<EventStreamOptions, 'baseUrl'>

export interface Client<Catalog = unknown> {
  /** A stream of a view, typed by `S` (`typeof MyView`, a definition, or an @sseRoute method's type). */
  connect: <S = unknown>(path: string, options?: StreamOptions) => EventStream<ViewEventsOf<S>>
  /** A subscription to topics of the client's catalog (or of `C`), typed by the topics named. */
  topics: <C = Catalog, const T extends TopicNameOf<C> = TopicNameOf<C>>(topics: readonly T[], options?: StreamOptions) => EventStream<TopicEventsOf<C, T>>
}

/** A client for one server: its base URL, headers and settings shared by every stream. */
export function createClient<Catalog = unknown> (options: ClientOptions = {}): Client<Catalog> {
  const { topicsPath = '/events', ...shared } = options
  return {
    connect: (path, own) => connect(path, { ...shared, ...own }),
    topics: (topics, own) => subscribe(topicsPath, topics, { ...shared, ...own })
  }
}
