/**
 * SubscriptionView: the built-in topic subscription endpoint (fastapi-sse-events' `@subscribe_to_events`).
 *
 *   router.registerView(SubscriptionView({ authorize: (request, topic) => canRead(request.user, topic) }), { prefix: '/events' })
 *   // GET /events?topic=tasks,task:7   (or a static `topics` list)
 *
 * Everything that can be refused is refused before the first byte, with a problem document: 400 for bad
 * topics, 403 naming a denied topic, 500 when authorize throws, 503 + Retry-After at the connection limit
 * or when the broker cannot subscribe. Never a 200 followed by an error event: EventSource would
 * reconnect in a loop.
 *
 * Delivery is push: each event is framed once per topic and the same Buffer is written to every stream
 * that subscribes to that topic alone; a stream that falls behind its byte budget is closed, and its
 * client resumes from history with its Last-Event-ID.
 */
import { Type, type TObject } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BadRequestError, ForbiddenError, InternalServerError, ServiceUnavailableError } from '../http-errors.js'
import { DEFAULT_HEARTBEAT_SECONDS, RETRY_AFTER_BUSY_SECONDS } from '../defaults.js'
import { FVIEWS_ERR_AUTHORIZE_FAILED, FVIEWS_ERR_BROKER_MISSING, FVIEWS_ERR_BROKER_UNAVAILABLE, FVIEWS_ERR_OPTION_INVALID, FVIEWS_ERR_ROUTE_TOPIC_UNKNOWN, FVIEWS_ERR_TOPIC_FORBIDDEN, FVIEWS_ERR_TOPIC_INVALID, FVIEWS_ERR_TOPIC_UNKNOWN } from '../errors.js'
import { View } from '../views/view.js'
import type { RouteSpec } from '../views/route-spec.js'
import { collectActions } from '../views/route-tags.js'
import { encodeFrame } from '../sse/encoder.js'
import { EVENT_STREAM, mountStream, overCapacity } from '../sse/route-options.js'
import { EventStream } from '../sse/stream.js'
import type { Broker } from '../broker/broker.js'
import { MAX_CURSOR_LENGTH, MAX_SUBSCRIPTION_TOPICS } from '../broker/cursor.js'
import { DEFAULT_BUDGET_BYTES, Subscription, type ControlEvent, type SubscriptionSink } from '../broker/subscription.js'
import type { BrokerMessage, MessageRun } from '../broker/message.js'
import { DEFAULT_MAX_TOPIC_LENGTH, parseTopicList, printableTopic, topicProblem } from '../broker/topic-names.js'
import { TopicMetrics } from './metrics.js'
import { isTopicCatalog, type AnyTopicCatalog, type CatalogTopic, type ResolvedTopic } from '../broker/catalog.js'
import { compileEvents } from '../views/event-schema.js'
import { revealedServerError } from '../problem.js'
import { kStreamRegistry, kTopicRuntime } from '../symbols.js'

/**
 * Called once per requested topic. With a topic catalog, `resolved` carries the topic's template and its
 * parsed parameters (`{ template: 'task:{id}', params: { id: 7 } }`), typed when the catalog is given.
 */
export type AuthorizeTopic<C extends AnyTopicCatalog | undefined = AnyTopicCatalog | undefined> =
  (request: FastifyRequest, topic: string, resolved: CatalogTopic<C>) => boolean | Promise<boolean>

/** How a subscription keeps its connection alive: a comment (default) or an `event: heartbeat` frame (data `{}`). */
export type HeartbeatStyle = 'comment' | 'event'

// Without an id line, so a heartbeat never moves the client's Last-Event-ID; `{}` parses as JSON for clients that parse every event.
const HEARTBEAT_EVENT = Buffer.from(encodeFrame({ event: 'heartbeat', data: '{}' }))

/** Route config key marking a route that subscribes to topics: the app's startup check looks for a broker behind it. */
export const TOPIC_ROUTE_CONFIG = 'fastifyViewsTopics'

export interface SubscriptionViewOptions<C extends AnyTopicCatalog | undefined = AnyTopicCatalog | undefined> {
  /**
   * The topic catalog (`defineTopics`): the OpenAPI document lists every event of its topics with their data
   * schemas, `authorize` gets typed parameters, and a name it does not know is a 400. Default: the broker's.
   */
  catalog?: C
  /** A fixed topic list; when omitted, topics come from `?topic=a,b`. */
  topics?: string[]
  /** Called once per topic before anything is streamed; false denies the whole request with a 403. */
  authorize?: AuthorizeTopic<C>
  /** Seconds of silence before a heartbeat comment; 0 disables. Defaults to the app's setting. */
  heartbeatSeconds?: number
  /** Heartbeats as comments or as `event: heartbeat` frames; defaults to the app's setting ('comment'). */
  heartbeat?: HeartbeatStyle
  /** Reconnection delay (ms) sent to clients when the stream opens. */
  retry?: number
  /** Most topics one request may subscribe to (default 32). */
  maxTopics?: number
  /** Longest topic name accepted (default 256). */
  maxTopicLength?: number
  /** Unsent bytes a connection may accumulate before it is closed as too slow (default 1 MiB). */
  budgetBytes?: number
  summary?: string
  description?: string
  tags?: string[]
  operationId?: string
  /** Error statuses to document beyond 400, 403 (with `authorize`), 500 and 503 (a 401 of your auth hook, say). */
  errors?: number[]
  /** Security requirements of the endpoint in OpenAPI. */
  security?: Array<Record<string, string[]>>
}

/** What subscriptions share within an app: createApp decorates it; a plain app that decorates `broker` gets a default. */
export interface TopicRuntime {
  broker: Broker
  metrics: TopicMetrics
  /** Most open streams of every kind (enforced by the app's stream registry) before new ones get 503 + Retry-After. */
  maxConnections: number
  /** The app's check of every topic, for subscriptions without their own `authorize`. */
  authorize?: AuthorizeTopic<any>
  /** The app's heartbeat style, for subscriptions that set none. */
  heartbeat?: HeartbeatStyle
}

declare module 'fastify' {
  interface FastifyInstance {
    /** @internal The topic runtime of the scope (attachTopicRuntime); encapsulated children inherit it. */
    [kTopicRuntime]?: TopicRuntime
  }
}

/** Attaches the topic runtime to an app, so encapsulated children inherit it (createApp does this). */
export function attachTopicRuntime (app: FastifyInstance, runtime: TopicRuntime): void {
  app.decorate(kTopicRuntime, runtime)
  // The app's stream registry enforces the limit, for every kind of stream; it exists once the app is set up.
  app.addHook('onReady', async function limitOpenStreams () {
    const registry = app[kStreamRegistry]
    if (registry !== undefined) registry.maxStreams = runtime.maxConnections
  })
}

/** Whether subscriptions of `instance` find a broker: the startup check of routes marked TOPIC_ROUTE_CONFIG. */
export function hasTopicBroker (instance: FastifyInstance): boolean {
  return instance[kTopicRuntime] !== undefined || (instance as { broker?: Broker }).broker !== undefined
}

/** Route config key: the fixed topic list of a route without a catalog of its own, checked at startup against the broker's. */
export const FIXED_TOPICS_CONFIG = 'fastifyViewsFixedTopics'

/**
 * A fixed topic list checked against the catalog of the broker behind `instance`, at startup: the broker
 * (and its catalog) is only known then, and a name it refuses would otherwise be a 400 on every request.
 */
export function checkFixedTopics (instance: FastifyInstance, where: string, topics: readonly string[]): void {
  const broker = instance[kTopicRuntime]?.broker ?? (instance as { broker?: Broker }).broker
  const catalog = broker?.catalog
  if (catalog === undefined) return
  for (const topic of topics) {
    const resolved = catalog.resolve(topic)
    if ('problem' in resolved) throw new FVIEWS_ERR_ROUTE_TOPIC_UNKNOWN(where, printableTopic(topic), resolved.problem)
  }
}

// An app that only decorated `broker` gets a default runtime, one per broker.
const defaultRuntimes = new WeakMap<Broker, TopicRuntime>()

function runtimeOf (request: FastifyRequest): TopicRuntime {
  const server: { [kTopicRuntime]?: TopicRuntime, broker?: Broker } = request.server
  const attached = server[kTopicRuntime]
  if (attached !== undefined) return attached
  if (server.broker === undefined) throw new FVIEWS_ERR_BROKER_MISSING('SubscriptionView')
  let runtime = defaultRuntimes.get(server.broker)
  if (runtime === undefined) {
    runtime = { broker: server.broker, metrics: new TopicMetrics(), maxConnections: Infinity }
    defaultRuntimes.set(server.broker, runtime)
  }
  return runtime
}

const INVALID_TOPIC = { code: FVIEWS_ERR_TOPIC_INVALID.code }

/** Topics of a request: validated, deduplicated, in request order. Throws a 400 naming the fault. */
/** Every `%` of the URL's query starts a valid escape, and the escapes decode to well-formed UTF-8 text. */
function wellEscaped (url: string): boolean {
  const mark = url.indexOf('?')
  if (mark < 0 || !url.includes('%', mark)) return true
  try {
    decodeURIComponent(url.slice(mark + 1))
    return true
  } catch {
    return false
  }
}

export function requestedTopics (request: FastifyRequest, options: SubscriptionViewOptions<any>): string[] {
  let raw: string[]
  if (options.topics !== undefined) raw = options.topics
  else {
    // ?topics= is the seed's other spelling (fastapi-sse-events uses both); both may be given, and add up.
    const query = request.query as { topic?: string | string[], topics?: string | string[] }
    if (query.topic === undefined && query.topics === undefined) throw new BadRequestError('No topic: subscribe with ?topic=name (several: ?topic=a,b)', INVALID_TOPIC)
    raw = [query.topic ?? [], query.topics ?? []].flat().flatMap((value) => parseTopicList(value))
    // The query parser keeps a bad escape as literal text (`%zz`) and decodes an escaped lone surrogate:
    // either would subscribe to a topic the client never named, and it would then hear nothing.
    if (!wellEscaped(request.url)) throw new BadRequestError('The query string has a malformed percent-encoding: escape topic names with encodeURIComponent', INVALID_TOPIC)
  }
  const max = Math.min(options.maxTopics ?? 32, MAX_SUBSCRIPTION_TOPICS)
  if (raw.length > max) throw new BadRequestError(`Too many topics: ${raw.length}, at most ${max}`, INVALID_TOPIC)
  for (const topic of raw) {
    const reason = topicProblem(topic, { maxLength: options.maxTopicLength ?? DEFAULT_MAX_TOPIC_LENGTH })
    if (reason !== undefined) throw new BadRequestError(`Invalid topic '${printableTopic(topic)}': ${reason}`, INVALID_TOPIC)
  }
  return [...new Set(raw)]
}

/** Each topic resolved against the catalog; a name it does not know is a 400 naming it. */
export function resolvedTopics (topics: readonly string[], catalog: AnyTopicCatalog | undefined): ResolvedTopic[] {
  return topics.map((topic) => {
    if (catalog === undefined) return { name: topic, template: topic, params: {} }
    const resolved = catalog.resolve(topic)
    if ('problem' in resolved) {
      const unknown = new FVIEWS_ERR_TOPIC_UNKNOWN(printableTopic(topic), resolved.problem)
      throw new BadRequestError(unknown.message, { code: unknown.code, extensions: { topic: printableTopic(topic) } })
    }
    return resolved
  })
}

/** The client's cursor, unbounded here: an oversized one is malformed and answered with a reset. */
function cursorOf (request: FastifyRequest): string | undefined {
  const header = request.headers['last-event-id']
  const value = typeof header === 'string' ? header : (request.query as { lastEventId?: unknown }).lastEventId
  return typeof value === 'string' ? value.slice(0, MAX_CURSOR_LENGTH + 1) : undefined
}

async function authorizeAll (request: FastifyRequest, resolved: ResolvedTopic[], authorize: AuthorizeTopic<any> | undefined, metrics: TopicMetrics): Promise<void> {
  if (authorize === undefined) return
  for (const entry of resolved) {
    const topic = entry.name
    let allowed: boolean
    try {
      allowed = await authorize(request, topic, entry)
    } catch (error) {
      // An HttpError is the callback's own answer (401 without a token, say): it stands.
      if ((error as { statusCode?: number }).statusCode !== undefined && (error as { statusCode: number }).statusCode < 500) throw error
      request.log.error({ err: error, topic }, 'subscription: authorize threw')
      const failure = new FVIEWS_ERR_AUTHORIZE_FAILED(topic)
      throw new InternalServerError(failure.message, { code: failure.code, cause: error })
    }
    if (allowed !== true) {
      metrics.refused.forbidden++
      const refusal = new FVIEWS_ERR_TOPIC_FORBIDDEN(topic)
      throw new ForbiddenError(refusal.message, { code: refusal.code, extensions: { topic } })
    }
  }
}

/**
 * Writes a subscription into an event stream: shared frames for one-topic subscriptions. A class rather
 * than closures: one small object per connection (connections are what there are many of).
 */
class StreamSink implements SubscriptionSink {
  private readonly stream: EventStream
  private readonly metrics: TopicMetrics
  private readonly budgetBytes: number

  constructor (stream: EventStream, metrics: TopicMetrics, budgetBytes: number) {
    this.stream = stream
    this.metrics = metrics
    this.budgetBytes = budgetBytes
  }

  event (message: BrokerMessage, subscription: Subscription, now: number): void {
    let written: boolean
    if (subscription.solo) {
      written = this.stream.writeShared(message.soloFrame(subscription.setKey).frame, now)
    } else {
      written = this.stream.write(message.frameWith(subscription.cursor()), now)
    }
    if (written) this.metrics.eventsDelivered++
  }

  /** A run of one topic's events for a subscription to it alone: one shared Buffer for the whole run. */
  events (run: MessageRun, from: number, subscription: Subscription, now: number): void {
    if (this.stream.writeShared(run.soloFrames(subscription.setKey, from), now)) this.metrics.eventsDelivered += run.messages.length - from
  }

  control (event: ControlEvent, data: Record<string, unknown>, id: string): void {
    if (event === 'reset') this.metrics.resets++
    this.stream.write(encodeFrame({ id, event, data: JSON.stringify(data) }))
  }

  overflow (): void {
    this.stream.close('slow')
  }

  // A replay waits while half the budget is unsent, so it never trips the budget meant for live fan-out
  // (test/delivery/slow-client.test.ts: a client that missed more than its budget could never resume).
  ready (): Promise<void> | undefined {
    return this.stream.replayRoom(this.budgetBytes / 2)
  }
}

async function subscribe (request: FastifyRequest, reply: FastifyReply, options: SubscriptionViewOptions<any>): Promise<unknown> {
  const runtime = runtimeOf(request)
  const { metrics } = runtime
  let topics: string[]
  let resolved: ResolvedTopic[]
  try {
    topics = requestedTopics(request, options)
    resolved = resolvedTopics(topics, options.catalog ?? runtime.broker.catalog)
  } catch (error) {
    metrics.refused.badRequest++
    throw error
  }
  const registry = request.server[kStreamRegistry]
  const stream = new EventStream(request, reply, registry)
  // The slot is reserved before authorize is awaited and given back when the response closes, whatever the
  // answer; the limit is the registry's, shared with every other kind of stream of the process.
  if (!stream.admit()) {
    metrics.refused.overCapacity++
    throw overCapacity()
  }
  await authorizeAll(request, resolved, options.authorize ?? runtime.authorize, metrics)

  const budgetBytes = options.budgetBytes ?? DEFAULT_BUDGET_BYTES
  const subscription = new Subscription(runtime.broker, topics, new StreamSink(stream, metrics, budgetBytes), { lastEventId: cursorOf(request), budgetBytes })
  metrics.opened(topics.length)
  try {
    await subscription.join()
  } catch (error) {
    metrics.closed(topics.length, false)
    throw new ServiceUnavailableError(`Cannot subscribe now. ${revealedServerError(error).detail ?? 'The event broker did not answer'}`,
      { code: FVIEWS_ERR_BROKER_UNAVAILABLE.code, headers: { 'retry-after': String(RETRY_AFTER_BUSY_SECONDS) }, cause: error })
  }
  stream.onClose((reason) => {
    subscription.close()
    metrics.closed(topics.length, reason === 'slow')
  })
  stream.start({
    heartbeatSeconds: options.heartbeatSeconds ?? registry?.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS,
    budgetBytes,
    heartbeatFrame: (options.heartbeat ?? runtime.heartbeat) === 'event' ? HEARTBEAT_EVENT : undefined,
    opening: options.retry === undefined ? undefined : { retry: options.retry }
  })
  subscription.start().catch((error) => {
    request.log.error({ err: error, topics }, 'subscription: replay failed; ending the stream so the client resumes')
    stream.end('error')
  })
  return reply
}

const SubscriptionQuery = Type.Object({
  topic: Type.Optional(Type.String({ description: 'Comma-separated topics, e.g. tasks,task:7' })),
  topics: Type.Optional(Type.String({ description: 'The same as `topic` (the spelling of fastapi-sse-events); both may be given' })),
  lastEventId: Type.Optional(Type.String({ description: 'Resume cursor, for clients that cannot send the Last-Event-ID header' }))
})
/** The query of a catalog's subscription: its descriptions name the declared topics. */
export function catalogQuery (catalog: AnyTopicCatalog): TObject {
  const known = catalog.keys.map((key) => `\`${key}\``).join(', ')
  return Type.Object({
    topic: Type.Optional(Type.String({ description: `Comma-separated topics of the catalog: ${known} (a {param} filled in, e.g. task:7)` })),
    topics: SubscriptionQuery.properties.topics,
    lastEventId: SubscriptionQuery.properties.lastEventId
  })
}
const ResumeQuery = Type.Object({ lastEventId: SubscriptionQuery.properties.lastEventId })
const ResumeHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ description: 'The id of the last event received; EventSource sends it when it reconnects' }))
})

const TopicEventSchema = {
  description: 'One event of a subscribed topic, or a control event: `subscribed` (data { topics }) opens the stream, `reset` (data { reason, topics }) says the missed events cannot be replayed, so refetch state over REST',
  type: 'object',
  properties: {
    id: { type: 'string', description: 'Resume cursor: send it back as Last-Event-ID to receive exactly the events missed' },
    event: { type: 'string', description: 'The published event name, or `subscribed` / `reset`' },
    data: { description: 'The published data (JSON)' }
  },
  required: ['id', 'event', 'data']
}
/** The data of the stream's own events, documented beside a catalog's. */
const SubscribedData = Type.Object({ topics: Type.Array(Type.String()) }, { description: 'Opens the stream: the subscribed topics' })
const ResetData = Type.Object({
  reason: Type.Union(['malformed', 'topics-changed', 'epoch-changed', 'invalid-offset', 'history-trimmed'].map((reason) => Type.Literal(reason))),
  topics: Type.Array(Type.String())
}, { description: 'The missed events cannot be replayed: refetch state over REST' })

/**
 * The 200 response of a subscription to a catalog's topics: every event it can carry with its data
 * schema, built by the SSE event-schema builder like any typed stream's (so its OpenAPI output applies).
 */
export function catalogStreamResponse (catalog: AnyTopicCatalog): Record<string, unknown> {
  const events = compileEvents({ events: { subscribed: SubscribedData, reset: ResetData, ...catalog.eventSchemas() } }, 'SubscriptionView')
  return {
    description: `A stream of Server-Sent Events (text/event-stream). Topics and their events: ${catalog.describe()}. Each event id is a resume cursor.`,
    content: { [EVENT_STREAM]: { schema: events.documentation, example: events.example } }
  }
}

/** Route config key: the route's OpenAPI response already describes a catalog (the plugin leaves it). */
export const CATALOG_DOCUMENTED_CONFIG = 'fastifyViewsCatalog'

const EXAMPLE = 'id: 1.1x2y3z.k9f2m1-1.1q2w3e\nevent: subscribed\ndata: {"topics":["tasks"]}\n\nid: 1.1x2y3z.k9f2m1-2.0a9s8d\nevent: task:created\ndata: {"id":7}\n\n'

export function SubscriptionView<C extends AnyTopicCatalog | undefined = undefined> (options: SubscriptionViewOptions<C> = {}): typeof View {
  const catalog = options.catalog
  if (catalog !== undefined && !isTopicCatalog(catalog)) throw new FVIEWS_ERR_OPTION_INVALID('catalog', 'expected a topic catalog made by defineTopics({ ... })')
  // A fixed list is checked against the catalog now: a typo would otherwise be a 400 on every request.
  for (const topic of options.topics ?? []) {
    const resolved = catalog?.resolve(topic)
    if (resolved !== undefined && 'problem' in resolved) throw new FVIEWS_ERR_OPTION_INVALID('topics', `'${printableTopic(topic)}' ${resolved.problem}`)
  }
  const querystring: TObject = options.topics === undefined
    ? (catalog === undefined ? SubscriptionQuery : catalogQuery(catalog))
    : ResumeQuery
  return class TopicSubscription extends View {
    static override collectRoutes (): RouteSpec[] {
      const spec: RouteSpec = {
        name: 'subscribe',
        method: 'GET',
        path: '',
        stream: true,
        mountOptions: mountStream,
        routeOptions: { config: { [TOPIC_ROUTE_CONFIG]: true, ...(catalog === undefined ? {} : { [CATALOG_DOCUMENTED_CONFIG]: true }) } as any },
        checkAtStartup: (instance, where) => {
          if (!hasTopicBroker(instance)) throw new FVIEWS_ERR_BROKER_MISSING(where)
          if (catalog === undefined && options.topics !== undefined) checkFixedTopics(instance, where, options.topics)
        },
        schema: {
          querystring,
          headers: ResumeHeaders,
          summary: options.summary ?? (options.topics === undefined ? 'Subscribe to topics' : `Subscribe to ${options.topics.join(', ')}`),
          description: options.description ?? 'Server-Sent Events of the topics. Each event id is a resume cursor: reconnect with Last-Event-ID to receive exactly the events missed, or one `reset` event when they cannot be replayed.',
          tags: options.tags,
          operationId: options.operationId,
          security: options.security,
          response: {
            200: (catalog === undefined
              ? { description: 'A stream of Server-Sent Events (text/event-stream)', content: { [EVENT_STREAM]: { schema: TopicEventSchema, example: EXAMPLE } } }
              : catalogStreamResponse(catalog)) as any
          },
          errors: [...(options.authorize === undefined ? [400, 503] : [400, 403, 503]), ...(options.errors ?? [])]
        },
        invoke: (_view, request, reply) => subscribe(request, reply, options as SubscriptionViewOptions<any>)
      }
      return [spec, ...collectActions(this)]
    }
  }
}
