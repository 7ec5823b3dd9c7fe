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
import { buildRouteSchema } from '../router/schemas.js'
import { bindView, type View } from '../views/view.js'
import { SubscriptionView, TOPIC_ROUTE_CONFIG, type SubscriptionViewOptions } from './subscription-view.js'

export type SubscribeToEventsOptions = SubscriptionViewOptions

export interface SubscribeRouteOptions extends RouteShorthandOptionsWithHandler {
  schema: FastifySchema
}

export function subscribeToEvents (options: SubscribeToEventsOptions = {}): SubscribeRouteOptions {
  const view = SubscriptionView(options)
  const [spec] = view.collectRoutes()
  const schema = buildRouteSchema(spec, { viewName: 'Topics', tags: [] }) as Record<string, unknown>
  // A derived operationId would be the same for every such route (an invalid document): only the user's own.
  if (options.operationId === undefined) delete schema.operationId
  return {
    // The stream options a ViewRouter gives every stream route (lib/sse/endpoint.ts streamRouteOptions).
    compress: false,
    exposeHeadRoute: false,
    config: { [TOPIC_ROUTE_CONFIG]: true } as any,
    schema,
    handler: function subscribeToEventsHandler (request: FastifyRequest, reply: FastifyReply) {
      const instance = new view() as View
      bindView(instance, request, reply)
      return spec.invoke(instance, request, reply)
    }
  } as SubscribeRouteOptions
}
