/**
 * createApp(options): the equivalent of fastapi-sse-events' `SSEApp`. A Fastify instance with
 * configureApp applied, a broker (Redis when a URL is configured, in memory otherwise) decorated as
 * `app.broker`, connected on start and closed on close, a health endpoint for load balancers, optional
 * Prometheus metrics, and a graceful drain of open streams on close.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { configureApp, sendProblem, type ConfigureAppOptions } from '../configure-app.js'
import { problem } from '../problem.js'
import type { Broker } from '../broker/broker.js'
import { createBroker } from '../broker/create-broker.js'
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'
import { STREAM_REGISTRY, type StreamRegistry } from '../sse/registry.js'
import { TopicMetrics } from '../topics/metrics.js'
import { attachTopicRuntime } from '../topics/subscription-view.js'
import { resolveSettings, type SettingsInput } from './settings.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The event broker: `await app.broker.publish(topic, event, data)`. */
    broker: Broker
    /** Counters of the topic streams of this app. */
    topicMetrics: TopicMetrics
  }
}

export interface CreateAppOptions extends Omit<ConfigureAppOptions, 'cors' | 'heartbeatSeconds'>, SettingsInput {
  /** Options for Fastify itself (logger, bodyLimit, http2...). */
  fastify?: FastifyServerOptions
  /** Use this broker instead of creating one (tests, custom backends); the caller closes it. */
  broker?: Broker
  /** Path of the health endpoint, or false (default '/health'). */
  healthPath?: string | false
  /** Path of the Prometheus text endpoint, or false (default false). */
  metricsPath?: string | false
  /** Most open topic streams this process holds before answering 503 (default 10,000). */
  maxConnections?: number
  /** Events kept per topic for resume (default 1,000). */
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

function checkInteger (name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FVIEWS_ERR_OPTION_INVALID(name, `expected an integer from ${min} to ${max}, got '${String(value)}'`)
  }
  return value
}

export async function createApp (options: CreateAppOptions = {}): Promise<FastifyInstance> {
  const settings = resolveSettings(options, options.env ?? process.env)
  const maxConnections = checkInteger('maxConnections', options.maxConnections ?? 10_000, 1, 10_000_000)
  const drainMs = checkInteger('drainMs', options.drainMs ?? 2_000, 0, 60_000)
  const historySize = checkInteger('historySize', options.historySize ?? 1000, 1, 1_000_000)
  const historyTtlSeconds = checkInteger('historyTtlSeconds', options.historyTtlSeconds ?? 3600, 0, 30 * 24 * 3600)
  const publishTimeoutMs = checkInteger('publishTimeoutMs', options.publishTimeoutMs ?? 2000, 1, 60_000)
  const probeIntervalMs = checkInteger('probeIntervalMs', options.probeIntervalMs ?? 5000, 0, 3_600_000)

  const app = Fastify(options.fastify ?? {})
  const broker = options.broker ?? createBroker({
    redisUrl: settings.redisUrl, cluster: settings.redisCluster, topicPrefix: settings.topicPrefix, historySize, historyTtlSeconds, publishTimeoutMs, probeIntervalMs, logger: app.log
  })
  const metrics = new TopicMetrics()
  app.decorate('broker', broker)
  app.decorate('topicMetrics', metrics)
  attachTopicRuntime(app, { broker, metrics, maxConnections })

  await configureApp(app, {
    ...options,
    heartbeatSeconds: settings.heartbeatSeconds,
    drainMs,
    cors: settings.corsOrigins === false ? false : { origin: settings.corsOrigins }
  })
  const registry = (app as any)[STREAM_REGISTRY] as StreamRegistry
  app.addHook('onReady', async () => { await broker.connect() })
  // A broker passed in belongs to the caller (tests share one across restarts): only close our own.
  if (options.broker === undefined) app.addHook('onClose', async () => { await broker.close() })

  if (options.healthPath !== false) {
    app.get(options.healthPath ?? '/health', { schema: { hide: true } }, async (request, reply) => {
      const health = broker.health()
      const leaving = registry.draining || registry.leaving
      if (health.ok && !leaving) return { status: 'ok', broker: health, openConnections: metrics.openConnections }
      const detail = leaving ? 'Shutting down: this instance is leaving the pool' : `Broker unusable: ${health.detail}`
      return sendProblem(reply, problem(503, detail, request, { code: 'FVIEWS_ERR_UNHEALTHY', broker: health }), { 'retry-after': '5' })
    })
  }
  if (typeof options.metricsPath === 'string') {
    app.get(options.metricsPath, { schema: { hide: true } }, async (_request, reply) => {
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.toPrometheus(broker.stats))
    })
  }
  return app
}
