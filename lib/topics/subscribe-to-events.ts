/**
 * subscribeToEvents(options): a topic subscription on an ordinary route, the function form of
 * fastapi-sse-events' `@subscribe_to_events` (as `publishEvent(options)(handler)` is for publishing):
 *
 *   app.get('/events', subscribeToEvents({ authorize: (request, topic) => canRead(request.user, topic) }))
 *   app.get('/news', { ...subscribeToEvents({ topics: ['news'], heartbeat: 'event' }), preHandler: auth })
 *
 * It is SubscriptionView's endpoint - the same checks, the same delivery, the same OpenAPI entry - handed
 * to Fastify as route options rather than mounted by a ViewRouter. It needs the app's broker (the
 * fastify-views plugin with `broker`, or createApp) and the plugin's problem schemas.
 */
import type { FastifyReply, FastifyRequest, FastifySchema, RouteShorthandOptionsWithHandler } from 'fastify'
import { FVIEWS_ERR_BROKER_MISSING } from '../errors.js'
import { buildRouteSchema } from '../router/schemas.js'
import { bindView, type View } from '../views/view.js'
import { FIXED_TOPICS_CONFIG, SubscriptionView, TOPIC_ROUTE_CONFIG, type SubscriptionViewOptions } from './subscription-view.js'

export type SubscribeToEventsOptions = SubscriptionViewOptions

export interface SubscribeRouteOptions extends RouteShorthandOptionsWithHandler {
  schema: FastifySchema
}

/**
 * The startup check of a route added where the plugin is not (no plugin, the plugin in a sibling scope, or
 * the plugin registered after the route), on documented Fastify behaviour only: a route-level
 * `serializerCompiler` compiles the route's response schemas at startup, and `onRoute` hooks - encapsulated,
 * so only a plugin in the route's scope or above sees the route - may change the route's options. The
 * route comes with this compiler, which refuses to start; the plugin's onRoute hook (lib/app/topics-setup.ts)
 * removes it, so the scope's own compiler serializes the route. Without it the route would fail on the
 * missing ProblemDetails schema with a message that does not say what is missing. Fastify puts our message
 * into its FST_ERR_SCH_SERIALIZATION_BUILD, so the message starts with our code.
 */
export const refuseOutsideThePlugin = function subscribeToEventsNeedsThePlugin (): never {
  const error = new FVIEWS_ERR_BROKER_MISSING('a subscribeToEvents() route that no fastify-views plugin saw: register the plugin in the route\'s scope or a parent scope, before the route')
  error.message = `${error.code}: ${error.message}`
  throw error
}

export function subscribeToEvents (options: SubscribeToEventsOptions = {}): SubscribeRouteOptions {
  const view = SubscriptionView(options)
  const [spec] = view.collectRoutes()
  const schema = buildRouteSchema(spec, { viewName: 'Topics', tags: [] }) as Record<string, unknown>
  // A derived operationId would be the same for every such route (an invalid document): only the user's own.
  if (options.operationId === undefined) delete schema.operationId
  return {
    // The stream options a ViewRouter gives every stream route (lib/sse/route-options.ts streamRouteOptions).
    compress: false,
    exposeHeadRoute: false,
    // A fixed list is checked at app.ready() against the broker's catalog (lib/app/topics-setup.ts), unless the route has its own.
    config: { [TOPIC_ROUTE_CONFIG]: true, ...(options.topics !== undefined && options.catalog === undefined ? { [FIXED_TOPICS_CONFIG]: options.topics } : {}) } as any,
    serializerCompiler: refuseOutsideThePlugin,
    schema,
    handler: function subscribeToEventsHandler (request: FastifyRequest, reply: FastifyReply) {
      const instance = new view() as View
      bindView(instance, request, reply)
      return spec.invoke(instance, request, reply)
    }
  } as SubscribeRouteOptions
}
