/**
 * The library's own errors: one table, every entry made by `createError(code, message, status)`.
 * Codes are `FVIEWS_ERR_<AREA>_<REASON>`, stable across releases; a retired code is never reused.
 * Some entries are thrown (startup errors, broker failures); the others name the problem documents the
 * library answers with, and their message is that document's `detail`. Either way the code, the status and
 * the words live here, nowhere else: test/errors.test.ts checks that every constant is named after its
 * code, that every code is documented, and that no `FVIEWS_ERR_` string is written anywhere else in lib/.
 */
import createError, { type FastifyErrorConstructor } from '@fastify/error'

/**
 * The type of every entry, written out rather than inferred: the inferred type would be emitted in the
 * declarations as `createError.FastifyErrorConstructor`, a namespace reached through a default import,
 * which TypeScript cannot resolve under `moduleResolution: bundler` (TS2503). `Args` are the message's.
 * `code` is the entry's code without making an error (a Fastify error sets it on each instance only), for
 * the places that compare a code or put it into an HttpError.
 */
export type FViewsErrorConstructor<Args extends unknown[] = []> = FastifyErrorConstructor<{ code: string }, Args> & { readonly code: string }

/** createError, plus the code on the constructor. Answers that are never thrown skip the stack trace. */
function entry<Args extends unknown[]> (code: string, message: string, status: number, Base?: ErrorConstructor, captureStackTrace = true): FViewsErrorConstructor<Args> {
  return Object.assign(createError<Args>(code, message, status, Base, captureStackTrace), { code })
}

// Router / view definition errors: thrown at startup, they name the view and the route at fault.
export const FVIEWS_ERR_VIEW_INVALID: FViewsErrorConstructor<[string, string]> = entry<[string, string]>(
  'FVIEWS_ERR_VIEW_INVALID', "View '%s' cannot be registered: %s", 500, TypeError)
export const FVIEWS_ERR_VIEW_NO_ROUTES: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_VIEW_NO_ROUTES', "View '%s' has no routes: implement a verb method (get, post, ...), an action or events()", 500, TypeError)
export const FVIEWS_ERR_VIEW_ABSTRACT: FViewsErrorConstructor<[string, string]> = entry<[string, string]>(
  'FVIEWS_ERR_VIEW_ABSTRACT', "View '%s' declares '%s' but does not implement it", 500, TypeError)
export const FVIEWS_ERR_ROUTE_CLASH: FViewsErrorConstructor<[string, string, string]> = entry<[string, string, string]>(
  'FVIEWS_ERR_ROUTE_CLASH', "View '%s': route %s is already registered by %s", 500, TypeError)
export const FVIEWS_ERR_ROUTER_SEALED: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_ROUTER_SEALED', "View '%s' registered after router.plugin was mounted, so it would never be served: call registerView() before app.register(router.plugin), or use a new ViewRouter", 500, TypeError)
export const FVIEWS_ERR_DECORATOR_INVALID: FViewsErrorConstructor<[string, string]> = entry<[string, string]>(
  'FVIEWS_ERR_DECORATOR_INVALID', "applyDecorators: '%s' is not a method of %s", 500, TypeError)
export const FVIEWS_ERR_OPTION_INVALID: FViewsErrorConstructor<[string, string]> = entry<[string, string]>(
  'FVIEWS_ERR_OPTION_INVALID', "Invalid setting '%s': %s", 500, RangeError)

// SSE framing: an event field that would corrupt the stream is refused, never sent.
export const FVIEWS_ERR_SSE_INVALID_FIELD: FViewsErrorConstructor<[string, string]> = entry<[string, string]>(
  'FVIEWS_ERR_SSE_INVALID_FIELD', "Invalid SSE '%s' field: %s", 500, TypeError)
export const FVIEWS_ERR_SSE_INVALID_EVENT: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_SSE_INVALID_EVENT', 'Yielded event does not match its schema: %s', 500, TypeError)

// Broker and topics.
export const FVIEWS_ERR_BROKER_UNAVAILABLE: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_BROKER_UNAVAILABLE', 'Event broker unavailable: %s', 503)
export const FVIEWS_ERR_BROKER_CLOSED: FViewsErrorConstructor = entry(
  'FVIEWS_ERR_BROKER_CLOSED', 'Event broker is closed', 503)
export const FVIEWS_ERR_STREAM_SLOW: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_STREAM_SLOW', 'Event stream closed because the client reads too slowly: %s', 503)
export const FVIEWS_ERR_BROKER_MISSING: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_BROKER_MISSING', 'Topic subscriptions (%s) need a broker, and the app has none: build it with createApp(), register fastifyViews with { broker }, or decorate app.broker', 500, TypeError)
export const FVIEWS_ERR_PUBLISH_BROKER_MISSING: FViewsErrorConstructor = entry(
  'FVIEWS_ERR_PUBLISH_BROKER_MISSING', 'publishEvent: the app has no broker; create it with createApp() or decorate app.broker', 500, TypeError)
export const FVIEWS_ERR_TOPIC_INVALID: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_TOPIC_INVALID', 'Invalid topic: %s', 400)

// Answers of the framework: their message is the problem document's detail.
export const FVIEWS_ERR_VALIDATION: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_VALIDATION', '%s', 400, Error, false)
export const FVIEWS_ERR_ROUTE_NOT_FOUND: FViewsErrorConstructor<[string, string]> = entry<[string, string]>(
  'FVIEWS_ERR_ROUTE_NOT_FOUND', 'No route %s %s', 404, Error, false)
export const FVIEWS_ERR_METHOD_NOT_ALLOWED: FViewsErrorConstructor<[string, string, string]> = entry<[string, string, string]>(
  'FVIEWS_ERR_METHOD_NOT_ALLOWED', '%s is not allowed on %s; allowed: %s', 405, Error, false)
export const FVIEWS_ERR_INTERNAL: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_INTERNAL', 'An internal error occurred; it was logged with request id %s', 500, Error, false)

// Requests Node's HTTP parser refuses, before any route: answered on the socket, then it is closed.
export const FVIEWS_ERR_REQUEST_MALFORMED: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_REQUEST_MALFORMED', '%s', 400, Error, false)
export const FVIEWS_ERR_REQUEST_HEADERS_TOO_LARGE: FViewsErrorConstructor<[number]> = entry<[number]>(
  'FVIEWS_ERR_REQUEST_HEADERS_TOO_LARGE', 'The request headers are larger than this server accepts (%s bytes)', 431, Error, false)
export const FVIEWS_ERR_REQUEST_TIMEOUT: FViewsErrorConstructor = entry(
  'FVIEWS_ERR_REQUEST_TIMEOUT', 'The request did not arrive in time', 408, Error, false)

// Answers of event streams and topic subscriptions, before any byte of the stream.
export const FVIEWS_ERR_STREAM_NOT_ACCEPTABLE: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_STREAM_NOT_ACCEPTABLE', "This endpoint answers with an event stream (text/event-stream), which the Accept header '%s' excludes", 406, Error, false)
export const FVIEWS_ERR_OVER_CAPACITY: FViewsErrorConstructor = entry(
  'FVIEWS_ERR_OVER_CAPACITY', 'This instance holds as many streams as it may; retry shortly', 503, Error, false)
export const FVIEWS_ERR_TOPIC_FORBIDDEN: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_TOPIC_FORBIDDEN', "Not allowed to subscribe to topic '%s'", 403, Error, false)
export const FVIEWS_ERR_AUTHORIZE_FAILED: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_AUTHORIZE_FAILED', "Authorization of topic '%s' failed", 500, Error, false)
export const FVIEWS_ERR_UNHEALTHY: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_UNHEALTHY', '%s', 503, Error, false)

// Answers of publishEvent: the change was applied, its event was not (or maybe not) published.
export const FVIEWS_ERR_EVENT_NOT_PUBLISHED: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_EVENT_NOT_PUBLISHED', "The change was applied, but its '%s' event could not be published: the event broker is unavailable. Do not repeat the request; read the current state instead.", 503, Error, false)
export const FVIEWS_ERR_EVENT_UNCONFIRMED: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_EVENT_UNCONFIRMED', "The change was applied, but whether its '%s' event was published is unknown: the event broker did not confirm it. Do not repeat the request; read the current state instead.", 503, Error, false)

// The topic catalog (lib/broker/catalog.ts): a name it does not know, data it does not declare, a bad declaration.
export const FVIEWS_ERR_TOPIC_UNKNOWN: FViewsErrorConstructor<[string, string]> = entry<[string, string]>(
  'FVIEWS_ERR_TOPIC_UNKNOWN', "Unknown topic '%s': %s", 400)
export const FVIEWS_ERR_EVENT_INVALID: FViewsErrorConstructor<[string]> = entry<[string]>(
  'FVIEWS_ERR_EVENT_INVALID', 'Event refused by the topic catalog: %s', 500, TypeError)
export const FVIEWS_ERR_TOPIC_CATALOG_INVALID: FViewsErrorConstructor<[string, string]> = entry<[string, string]>(
  'FVIEWS_ERR_TOPIC_CATALOG_INVALID', "Topic catalog entry '%s' is invalid: %s", 500, TypeError)
export const FVIEWS_ERR_TOPIC_CATALOG_OVERLAP: FViewsErrorConstructor<[string, string, string]> = entry<[string, string, string]>(
  'FVIEWS_ERR_TOPIC_CATALOG_OVERLAP', "Topic catalog templates '%s' and '%s' overlap: both match '%s', so a name would belong to whichever was declared first. Make their fixed text differ (e.g. 'user:{id}' and 'user-by-name:{name}'), or declare one template", 500, TypeError)
export const FVIEWS_ERR_ROUTE_TOPIC_UNKNOWN: FViewsErrorConstructor<[string, string, string]> = entry<[string, string, string]>(
  'FVIEWS_ERR_ROUTE_TOPIC_UNKNOWN', "Route %s subscribes to topic '%s', which the app's topic catalog refuses (%s): declare it in defineTopics(), or correct the route's 'topics'", 500, TypeError)
