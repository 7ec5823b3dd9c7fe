/**
 * createApp(options): the equivalent of fastapi-sse-events' `SSEApp`. A Fastify instance with the
 * fastify-views plugin registered, a broker (Redis when a URL is configured, in memory otherwise)
 * decorated as `app.broker`, connected on start and closed on close, a health endpoint for load balancers,
 * optional Prometheus metrics, an optional subscription endpoint, and a graceful drain of open streams.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { fastifyViews } from './plugin.js'
import { sendProblem } from '../problem-reply.js'
import { problemOf } from '../problem.js'
import { withProblemServerOptions } from '../http/client-errors.js'
import { withStrictBodies } from '../http/validation.js'
import type { Broker } from '../broker/broker.js'
import { createBroker } from '../broker/create-broker.js'
import { isTopicCatalog, type AnyTopicCatalog } from '../broker/catalog.js'
import { resolveRetention } from '../broker/retention.js'
import { DEFAULT_BUDGET_BYTES } from '../broker/subscription.js'
import { RETRY_AFTER_UNHEALTHY_SECONDS } from '../defaults.js'
import { FVIEWS_ERR_OPTION_INVALID, FVIEWS_ERR_UNHEALTHY } from '../errors.js'
import { kStreamRegistry } from '../symbols.js'
import { resolveSettings, SETTINGS_OPTION_NAMES, shownValue, type SettingsInput } from './settings.js'
import { checkPluginOptions, type FastifyViewsOptions } from './plugin-options.js'
import { registerTopicMetrics, type PrometheusRegistry } from '../topics/prometheus.js'

export interface CreateAppOptions extends Omit<FastifyViewsOptions, 'cors' | 'heartbeatSeconds' | 'broker' | 'ssePath'>, SettingsInput {
  /** Options for Fastify itself (logger, bodyLimit, http2...). */
  fastify?: FastifyServerOptions
  /** Use this broker instead of creating one (tests, custom backends); the caller closes it. */
  broker?: Broker
  /**
   * The topic catalog (`defineTopics`) of the broker createApp creates: every publish is validated against
   * it, subscriptions refuse names it does not know and document its events. With `broker`, give the
   * catalog to that broker instead (`new MemoryBroker({ topics })`).
   */
  topics?: AnyTopicCatalog
  /** Path of the health endpoint, or false (default '/health'). */
  healthPath?: string | false
  /** Path of the Prometheus text endpoint, or false (default false). */
  metricsPath?: string | false
  /**
   * A prom-client `Registry`: the topic metrics are registered into it (prom-client is loaded only then),
   * and `metricsPath`, if set, serves the whole registry - your metrics and ours in one scrape.
   */
  metricsRegistry?: PrometheusRegistry
  /** Most open topic streams this process holds before answering 503 (default 10,000). */
  maxConnections?: number
  /**
   * Resume history per topic: every event of the last `historyWindowSeconds` (default 60) and of older ones
   * the newest `historyBytes` (default 16 MiB; at least the stream budget plus 4 MiB); `historySize` caps the
   * count (default historyBytes / 64).
   */
  historyBytes?: number
  historyWindowSeconds?: number
  historySize?: number
  /** History of a topic is dropped this long after its last event (default 3,600 s). */
  historyTtlSeconds?: number
  /** Redis only: how long a publish waits for an unreachable Redis before failing with 503 (default 2,000 ms). */
  publishTimeoutMs?: number
  /** Redis only: interval of the subscriber liveness probe (default 5,000 ms; 0 disables). */
  probeIntervalMs?: number
  /** Environment to read settings from (default process.env). */
  env?: Record<string, string | undefined>
}

/**
 * The options createApp takes beyond the plugin's (the plugin's are checked by the plugin's table), for
 * the unknown-option check. Typed against CreateAppOptions: an option added there and not here is a
 * compile error, rather than an option createApp would refuse.
 */
const CREATE_APP_ONLY: Record<Exclude<keyof CreateAppOptions, keyof FastifyViewsOptions | keyof SettingsInput>, true> = {
  fastify: true, topics: true, healthPath: true, metricsPath: true, metricsRegistry: true, historySize: true, historyBytes: true, historyWindowSeconds: true, historyTtlSeconds: true, publishTimeoutMs: true, probeIntervalMs: true, env: true
}
const CREATE_APP_OPTION_NAMES = [...Object.keys(CREATE_APP_ONLY), ...SETTINGS_OPTION_NAMES]

function checkInteger (name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FVIEWS_ERR_OPTION_INVALID(name, `expected an integer from ${min} to ${max}, got ${shownValue(value)}`)
  }
  return value
}

export async function createApp (options: CreateAppOptions = {}): Promise<FastifyInstance> {
  if ((options as { cors?: unknown }).cors !== undefined) {
    throw new FVIEWS_ERR_OPTION_INVALID('cors', "createApp takes corsOrigins (true, '*', or a list of origins) or CORS_ORIGINS; `cors` is the option of the fastifyViews plugin")
  }
  checkPluginOptions(options, CREATE_APP_OPTION_NAMES, ['cors'])
  const serverOptions: unknown = options.fastify
  if (serverOptions !== undefined && (typeof serverOptions !== 'object' || serverOptions === null || Array.isArray(serverOptions))) {
    throw new FVIEWS_ERR_OPTION_INVALID('fastify', `expected an object of Fastify server options, e.g. { logger: true }, got ${Array.isArray(serverOptions) ? 'an array' : shownValue(serverOptions)}`)
  }
  const settings = resolveSettings(options, options.env ?? process.env)
  const maxConnections = checkInteger('maxConnections', options.maxConnections ?? 10_000, 1, 10_000_000)
  const drainMs = checkInteger('drainMs', options.drainMs ?? 2_000, 0, 60_000)
  // Retention is checked against the stream budget: a client closed for slowness must resume (issue 11 #4).
  const retention = resolveRetention(options, DEFAULT_BUDGET_BYTES)
  const historyTtlSeconds = checkInteger('historyTtlSeconds', options.historyTtlSeconds ?? 3600, 0, 30 * 24 * 3600)
  const publishTimeoutMs = checkInteger('publishTimeoutMs', options.publishTimeoutMs ?? 2000, 1, 60_000)
  const probeIntervalMs = checkInteger('probeIntervalMs', options.probeIntervalMs ?? 5000, 0, 3_600_000)
  const metricsRegistry = options.metricsRegistry
  if (metricsRegistry !== undefined && typeof (metricsRegistry as Partial<PrometheusRegistry> | null)?.registerMetric !== 'function') {
    throw new FVIEWS_ERR_OPTION_INVALID('metricsRegistry', "expected a prom-client Registry, e.g. new Registry() or the default register of `import { register } from 'prom-client'`")
  }

  const app = Fastify(withStrictBodies(withProblemServerOptions(options.fastify ?? {})))
  if (options.topics !== undefined && !isTopicCatalog(options.topics)) throw new FVIEWS_ERR_OPTION_INVALID('topics', 'expected a topic catalog made by defineTopics({ ... })')
  if (options.topics !== undefined && options.broker !== undefined && options.broker.catalog !== options.topics) {
    throw new FVIEWS_ERR_OPTION_INVALID('topics', 'a broker is given too, and its catalog is not this one: pass the catalog to the broker (new MemoryBroker({ topics })) and leave topics unset')
  }
  const broker: Broker = options.broker ?? await createBroker<AnyTopicCatalog | undefined>({
    topics: options.topics,
    redisUrl: settings.redisUrl, cluster: settings.redisCluster, topicPrefix: settings.topicPrefix, ...retention, historyTtlSeconds, publishTimeoutMs, probeIntervalMs, logger: app.log
  })
  // A broker passed in belongs to the caller (tests share one across restarts): only close our own.
  if (options.broker === undefined) app.addHook('onClose', async () => { await broker.close() })

  const pluginOptions: FastifyViewsOptions = { ...options }
  for (const name of CREATE_APP_OPTION_NAMES) delete (pluginOptions as Record<string, unknown>)[name]
  await app.register(fastifyViews, {
    ...pluginOptions,
    broker,
    maxConnections,
    heartbeatSeconds: settings.heartbeatSeconds,
    drainMs,
    ssePath: settings.ssePath,
    cors: settings.corsOrigins === false ? false : { origin: settings.corsOrigins }
  })
  const registry = app[kStreamRegistry]!
  const metrics = app.topicMetrics
  if (metricsRegistry !== undefined) {
    let unregister: () => void
    try {
      unregister = await registerTopicMetrics(metricsRegistry, metrics, () => broker.stats)
    } catch (error) {
      await app.close() // and with it the broker it created
      throw error
    }
    app.addHook('onClose', async () => { unregister() })
  }

  if (options.healthPath !== false) {
    // A load balancer polls this every few seconds: its request lines would drown the log at info, so the
    // route logs only warnings itself and each poll is one debug line.
    app.get(options.healthPath ?? '/health', {
      schema: { hide: true },
      logLevel: 'warn',
      onResponse: async (request, reply) => { app.log.debug({ reqId: request.id, statusCode: reply.statusCode }, 'health poll') }
    }, async (request, reply) => {
      const health = broker.health()
      const leaving = registry.draining || registry.leaving
      // openStreams: every event stream, the figure maxConnections limits; openConnections: topic subscriptions.
      if (health.ok && !leaving) return { status: 'ok', broker: health, openStreams: registry.size, openConnections: metrics.openConnections }
      const detail = leaving ? 'Shutting down: this instance is leaving the pool' : `Broker unusable: ${health.detail}`
      return sendProblem(reply, problemOf(new FVIEWS_ERR_UNHEALTHY(detail), request, { broker: health }), { 'retry-after': String(RETRY_AFTER_UNHEALTHY_SECONDS) })
    })
  }
  if (typeof options.metricsPath === 'string') {
    app.get(options.metricsPath, { schema: { hide: true } }, async (_request, reply) => {
      if (metricsRegistry !== undefined) return reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics())
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.toPrometheus(broker.stats))
    })
  }
  return app
}
