/**
 * The library's own errors: one table, every entry made by `createError(code, message, status)`.
 * Codes are `FVIEWS_ERR_<AREA>_<REASON>`, stable across releases; a retired code is never reused.
 * test/errors.test.ts checks that every constant is named after its code and documented in README.md.
 */
import createError, { type FastifyErrorConstructor } from '@fastify/error'

/**
 * The type of every entry, written out rather than inferred: the inferred type would be emitted in the
 * declarations as `createError.FastifyErrorConstructor`, a namespace reached through a default import,
 * which TypeScript cannot resolve under `moduleResolution: bundler` (TS2503). `Args` are the message's.
 */
export type FViewsErrorConstructor<Args extends unknown[] = []> = FastifyErrorConstructor<{ code: string }, Args>

// Router / view definition errors: thrown at startup, they name the view and the route at fault.
export const FVIEWS_ERR_VIEW_INVALID: FViewsErrorConstructor<[string, string]> = createError<[string, string]>(
  'FVIEWS_ERR_VIEW_INVALID', "View '%s' cannot be registered: %s", 500, TypeError)
export const FVIEWS_ERR_VIEW_NO_ROUTES: FViewsErrorConstructor<[string]> = createError<[string]>(
  'FVIEWS_ERR_VIEW_NO_ROUTES', "View '%s' has no routes: implement a verb method (get, post, ...), an action or events()", 500, TypeError)
export const FVIEWS_ERR_VIEW_ABSTRACT: FViewsErrorConstructor<[string, string]> = createError<[string, string]>(
  'FVIEWS_ERR_VIEW_ABSTRACT', "View '%s' declares '%s' but does not implement it", 500, TypeError)
export const FVIEWS_ERR_ROUTE_CLASH: FViewsErrorConstructor<[string, string, string]> = createError<[string, string, string]>(
  'FVIEWS_ERR_ROUTE_CLASH', "View '%s': route %s is already registered by %s", 500, TypeError)
export const FVIEWS_ERR_ROUTER_SEALED: FViewsErrorConstructor<[string]> = createError<[string]>(
  'FVIEWS_ERR_ROUTER_SEALED', "View '%s' registered after router.plugin was mounted, so it would never be served: call registerView() before app.register(router.plugin), or use a new ViewRouter", 500, TypeError)
export const FVIEWS_ERR_OPTION_INVALID: FViewsErrorConstructor<[string, string]> = createError<[string, string]>(
  'FVIEWS_ERR_OPTION_INVALID', "Invalid setting '%s': %s", 500, RangeError)

// SSE framing: an event field that would corrupt the stream is refused, never sent.
export const FVIEWS_ERR_SSE_INVALID_FIELD: FViewsErrorConstructor<[string, string]> = createError<[string, string]>(
  'FVIEWS_ERR_SSE_INVALID_FIELD', "Invalid SSE '%s' field: %s", 500, TypeError)
export const FVIEWS_ERR_SSE_INVALID_EVENT: FViewsErrorConstructor<[string]> = createError<[string]>(
  'FVIEWS_ERR_SSE_INVALID_EVENT', 'Yielded event does not match its schema: %s', 500, TypeError)

// Broker and topics.
export const FVIEWS_ERR_BROKER_UNAVAILABLE: FViewsErrorConstructor<[string]> = createError<[string]>(
  'FVIEWS_ERR_BROKER_UNAVAILABLE', 'Event broker unavailable: %s', 503)
export const FVIEWS_ERR_BROKER_CLOSED: FViewsErrorConstructor = createError(
  'FVIEWS_ERR_BROKER_CLOSED', 'Event broker is closed', 503)
export const FVIEWS_ERR_STREAM_SLOW: FViewsErrorConstructor<[string]> = createError<[string]>(
  'FVIEWS_ERR_STREAM_SLOW', 'Event stream closed because the client reads too slowly: %s', 503)
export const FVIEWS_ERR_BROKER_MISSING: FViewsErrorConstructor<[string]> = createError<[string]>(
  'FVIEWS_ERR_BROKER_MISSING', 'Topic subscriptions (%s) need a broker, and the app has none: build it with createApp(), register fastifyViews with { broker }, or decorate app.broker', 500, TypeError)
export const FVIEWS_ERR_TOPIC_INVALID: FViewsErrorConstructor<[string]> = createError<[string]>(
  'FVIEWS_ERR_TOPIC_INVALID', 'Invalid topic: %s', 400)

// The topic catalog (lib/broker/catalog.ts): a name it does not know, data it does not declare, a bad declaration.
export const FVIEWS_ERR_TOPIC_UNKNOWN: FViewsErrorConstructor<[string, string]> = createError<[string, string]>(
  'FVIEWS_ERR_TOPIC_UNKNOWN', "Unknown topic '%s': %s", 400)
export const FVIEWS_ERR_EVENT_INVALID: FViewsErrorConstructor<[string]> = createError<[string]>(
  'FVIEWS_ERR_EVENT_INVALID', 'Event refused by the topic catalog: %s', 500, TypeError)
export const FVIEWS_ERR_TOPIC_CATALOG_INVALID: FViewsErrorConstructor<[string, string]> = createError<[string, string]>(
  'FVIEWS_ERR_TOPIC_CATALOG_INVALID', "Topic catalog entry '%s' is invalid: %s", 500, TypeError)
