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
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RouteShorthandOptionsWithHandler } from 'fastify'
import { FVIEWS_ERR_BROKER_MISSING } from '../errors.js'
import { buildRouteSchema } from '../router/schemas.js'
import { bindView, type View } from '../views/view.js'
import { hasTopicBroker, SubscriptionView, TOPIC_ROUTE_CONFIG, type SubscriptionViewOptions } from './subscription-view.js'

export type SubscribeToEventsOptions = SubscriptionViewOptions

export interface SubscribeRouteOptions extends RouteShorthandOptionsWithHandler {
  schema: FastifySchema
}

/**
 * A startup check for a route added where the plugin is not (no plugin, or the plugin in a sibling scope):
 * the plugin's own check (lib/app/topics-setup.ts) runs at onReady, after Fastify has built the route's
 * serializer, which fails there first on the missing ProblemDetails schema with a message that does not say
 * what is missing. Route options cannot reach the instance, except this: Fastify binds a route's lifecycle
 * hooks to the route's instance before it builds the serializer, so the hook's `bind` sees the scope and
 * refuses it with the error a SubscriptionView gives. The hook itself is a no-op on a timeout, which is rare.
 */
function brokerCheckAtStartup (): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const noop = async function subscribeToEventsOnTimeout (): Promise<void> {}
  const bind = noop.bind
  Object.defineProperty(noop, 'bind', {
    value: function checkScopeHasBroker (this: typeof noop, instance: FastifyInstance, ...rest: unknown[]) {
      const scope = instance as FastifyInstance | undefined
      if (scope !== undefined && typeof scope.hasPlugin === 'function' && !scope.hasPlugin('fastify-views') && !hasTopicBroker(scope)) {
        throw new FVIEWS_ERR_BROKER_MISSING('a subscribeToEvents() route, in a scope without the fastify-views plugin')
      }
      return bind.call(this, instance, ...rest)
    }
  })
  return noop
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
    config: { [TOPIC_ROUTE_CONFIG]: true } as any,
    onTimeout: [brokerCheckAtStartup()],
    schema,
    handler: function subscribeToEventsHandler (request: FastifyRequest, reply: FastifyReply) {
      const instance = new view() as View
      bindView(instance, request, reply)
      return spec.invoke(instance, request, reply)
    }
  } as SubscribeRouteOptions
}
