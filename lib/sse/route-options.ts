/**
 * What every SSE route needs of HTTP, whichever floor builds it (a view's SSE endpoint, the topic
 * subscription endpoint): the content type, the client's resume point, and the route options and stream
 * registry of the instance the route is mounted on. Transport: nothing here knows views or topics.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { streamRegistryOf } from './registry.js'

export const EVENT_STREAM = 'text/event-stream'
/**
 * Longest Last-Event-ID passed to a view in full (it is untrusted input): a longer one is passed cut to one
 * character over, so it never silently vanishes - broker cursors (up to 4,096) then answer it with a reset.
 */
export const MAX_LAST_EVENT_ID_LENGTH = 4096
/** Fastify accepts only a positive handlerTimeout per route: the longest a timer can wait (~24.8 days). */
const NO_HANDLER_TIMEOUT = 2 ** 31 - 1

/** The resume point a client sent: the Last-Event-ID header, else `?lastEventId=`. */
export function lastEventIdOf (request: FastifyRequest, maxLength = MAX_LAST_EVENT_ID_LENGTH): string | undefined {
  const header = request.headers['last-event-id']
  const value = typeof header === 'string' ? header : (request.query as { lastEventId?: unknown } | undefined)?.lastEventId
  return typeof value === 'string' ? value.slice(0, maxLength + 1) : undefined
}

/** Route options every SSE route needs, given the instance it is mounted on. */
export function streamRouteOptions (instance: FastifyInstance): Record<string, unknown> {
  const options: Record<string, unknown> = {
    // A broad @fastify/compress setting would gzip and buffer the whole stream.
    compress: false,
    // HEAD would open a stream just to discard it.
    exposeHeadRoute: false
  }
  // A server-level handlerTimeout would kill every stream at its deadline (fastify >= 5.8).
  if ((instance.initialConfig as { handlerTimeout?: number }).handlerTimeout! > 0) options.handlerTimeout = NO_HANDLER_TIMEOUT
  return options
}

/**
 * A stream route's `mountOptions` (see RouteSpec): its route options on `instance`, after making sure the
 * instance has the stream registry that app.close() drains (configureApp made one unless it was not used).
 */
export function mountStream (instance: FastifyInstance): Record<string, unknown> {
  streamRegistryOf(instance)
  return streamRouteOptions(instance)
}
