/**
 * The topic part of the plugin: decorates the broker and the topic runtime (app-level authorize,
 * heartbeat style, connection limit), mounts the subscription endpoint when `ssePath` is set, and finds
 * at startup a topic route with no broker behind it (otherwise: 500 to every subscriber).
 */
import type { FastifyInstance } from 'fastify'
import { FVIEWS_ERR_BROKER_MISSING, FVIEWS_ERR_OPTION_INVALID } from '../errors.js'
import { TopicMetrics } from '../topics/metrics.js'
import { attachTopicRuntime, CATALOG_DOCUMENTED_CONFIG, catalogQuery, catalogStreamResponse, checkFixedTopics, FIXED_TOPICS_CONFIG, hasTopicBroker, TOPIC_ROUTE_CONFIG } from '../topics/subscription-view.js'
import { kStreamRegistry, kTopicRuntime } from '../symbols.js'
import { refuseOutsideThePlugin, subscribeToEvents } from '../topics/subscribe-to-events.js'
import type { FastifyViewsOptions } from './plugin-options.js'
import { VIEW_ROUTE_CONFIG } from '../router/view-router.js'
import { problemResponse } from '../router/schemas.js'

/**
 * With an app-level `authorize`, every subscription route may answer 403: document it. Added before
 * @fastify/swagger is registered, so this hook runs before swagger's reads the route.
 */
export function documentAppAuthorize (app: FastifyInstance, options: FastifyViewsOptions): void {
  if (options.authorize === undefined) return
  app.addHook('onRoute', (route) => {
    const config = route.config as Record<string, unknown> | undefined
    const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response
    if (config?.[TOPIC_ROUTE_CONFIG] === true && response !== undefined && response[403] === undefined) {
      route.schema = { ...route.schema, response: { ...response, 403: problemResponse(403) } }
    }
  })
}

/**
 * With a broker that has a topic catalog, every subscription route that does not describe one itself
 * (SubscriptionView without `catalog`, subscribeToEvents, `ssePath`) documents the catalog's events and
 * topics: the catalog is declared once, on the broker. Added before @fastify/swagger, like the hook above.
 */
export function documentBrokerCatalog (app: FastifyInstance, options: FastifyViewsOptions): void {
  const catalog = options.broker?.catalog
  if (catalog === undefined) return
  app.addHook('onRoute', (route) => {
    const config = route.config as Record<string, unknown> | undefined
    if (config?.[TOPIC_ROUTE_CONFIG] !== true || config[CATALOG_DOCUMENTED_CONFIG] === true) return
    const schema = route.schema as { response?: Record<string, unknown>, querystring?: { properties?: Record<string, unknown> } } | undefined
    if (schema?.response?.[200] === undefined) return
    // A fixed topic list has no `topic` query to describe.
    const querystring = schema.querystring?.properties?.topic === undefined ? schema.querystring : catalogQuery(catalog)
    route.schema = { ...route.schema, querystring, response: { ...schema.response, 200: catalogStreamResponse(catalog) } }
  })
}

const NEEDS_BROKER = ['authorize', 'heartbeat', 'maxConnections', 'ssePath'] as const

export function mountTopics (app: FastifyInstance, options: FastifyViewsOptions): void {
  // Each topic route with the scope it was added in: a child scope may decorate a broker of its own.
  const topicRoutes: Array<{ scope: FastifyInstance, route: string, fixedTopics?: readonly string[] }> = []
  app.addHook('onRoute', function findTopicRoutes (this: FastifyInstance, route) {
    const config = route.config as Record<string, unknown> | undefined
    if (config?.[TOPIC_ROUTE_CONFIG] !== true) return
    // A subscribeToEvents() route refuses to start unless a plugin saw it: this one did.
    if (route.serializerCompiler === refuseOutsideThePlugin) delete route.serializerCompiler
    const view = (config[VIEW_ROUTE_CONFIG] as { name?: string } | undefined)?.name
    topicRoutes.push({ scope: this, route: `${String(route.method)} ${route.url}${view === undefined ? '' : ` of view ${view}`}`, fixedTopics: config[FIXED_TOPICS_CONFIG] as readonly string[] | undefined })
  })
  app.addHook('onReady', async function checkTopicRoutesHaveBroker () {
    const orphans = topicRoutes.filter(({ scope }) => !hasTopicBroker(scope)).map(({ route }) => route)
    if (orphans.length > 0) throw new FVIEWS_ERR_BROKER_MISSING(orphans.join(', '))
    for (const { scope, route, fixedTopics } of topicRoutes) if (fixedTopics !== undefined) checkFixedTopics(scope, route, fixedTopics)
  })

  let broker = options.broker
  if (broker === undefined) {
    const needing = NEEDS_BROKER.filter((name) => options[name] !== undefined && options[name] !== false)
    if (needing.length === 0) return
    if (!app.hasDecorator('broker')) {
      throw new FVIEWS_ERR_OPTION_INVALID(needing[0], 'it applies to topic subscriptions, which need a broker: pass `broker` too (e.g. new MemoryBroker()), or use createApp()')
    }
    broker = app.broker
  } else if (app.hasDecorator('broker')) {
    if (app.broker !== broker) throw new FVIEWS_ERR_OPTION_INVALID('broker', 'the app already decorates a different app.broker; pass that one, or leave broker unset')
  } else {
    app.decorate('broker', broker)
    // A broker built without a logger logs what it skips or refuses (a foreign event the catalog refuses) to the app's.
    if (typeof broker.adoptLogger === 'function') broker.adoptLogger(app.log)
    // The caller owns the broker (and closes it); it is connected when the app starts.
    const connecting = broker
    app.addHook('onReady', async function connectBroker () { await connecting.connect() })
  }
  // A scope below one that has the runtime (the plugin registered again in a child) shares the parent's.
  if (app[kTopicRuntime] !== undefined) return
  const metrics = app.hasDecorator('topicMetrics') ? app.topicMetrics : new TopicMetrics()
  if (!app.hasDecorator('topicMetrics')) app.decorate('topicMetrics', metrics)
  // Every stream of the app is counted by its registry (views' own too): the metrics show those counts.
  const registry = app[kStreamRegistry]
  if (registry !== undefined) metrics.streams = registry.counts
  attachTopicRuntime(app, {
    broker,
    metrics,
    maxConnections: options.maxConnections ?? Infinity,
    authorize: options.authorize,
    heartbeat: options.heartbeat
  })
  if (typeof options.ssePath === 'string') app.get(options.ssePath, subscribeToEvents())
}
