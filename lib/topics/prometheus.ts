/**
 * The topic counters as prom-client metrics, registered into the application's own Registry, so one
 * scrape of the service's /metrics carries them beside its other metrics (issue 12). prom-client is
 * loaded only here, when a registry is given: an app without one pays nothing and keeps the built-in
 * text of TopicMetrics.toPrometheus(). Every metric reads the live counters when scraped (`collect`),
 * so the per-event hot path stays a plain integer increment.
 */
import type { BrokerStats } from '../broker/contract.js'
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'
import { CLOSE_REASONS } from '../sse/registry.js'
import { BROKER_HELP, STREAM_HELP, type TopicMetrics } from './metrics.js'

/**
 * What the library needs of a prom-client `Registry`, written out so the published types do not depend on
 * prom-client (an app without it still typechecks).
 */
export interface PrometheusRegistry {
  registerMetric (metric: any): void
  getSingleMetric (name: string): unknown
  removeSingleMetric (name: string): void
  metrics (): Promise<string>
  readonly contentType: string
}

/** What only some brokers count (RedisBrokerStats): read when present. */
interface RedisCounts { malformedMessages: number, refusedMessages: number }

const NAMES = [
  'fastify_views_open_connections', 'fastify_views_connections_total', 'fastify_views_events_delivered_total',
  'fastify_views_slow_closed_total', 'fastify_views_resets_total', 'fastify_views_refused_events_total', 'fastify_views_refused_total', 'fastify_views_subscriptions',
  'fastify_views_open_streams', 'fastify_views_streams_opened_total', 'fastify_views_streams_closed_total',
  'fastify_views_events_published_total', 'fastify_views_broker_reconnects_total', 'fastify_views_broker_active_topics',
  'fastify_views_broker_malformed_messages_total', 'fastify_views_broker_refused_messages_total'
]

interface Settable { reset (): void, set (labels: Record<string, string>, value: number): void }
interface Countable { reset (): void, inc (labels: Record<string, string> | number, value?: number): void }

/**
 * Registers the metrics; returns a function that removes them again (createApp calls it on close, so a
 * registry outlives the app, as the default one does across restarts in tests).
 */
export async function registerTopicMetrics (registry: PrometheusRegistry, metrics: TopicMetrics, brokerStats: () => BrokerStats | undefined): Promise<() => void> {
  const taken = NAMES.find((name) => registry.getSingleMetric(name) !== undefined)
  if (taken !== undefined) {
    throw new FVIEWS_ERR_OPTION_INVALID('metricsRegistry', `the registry already holds '${taken}' (another app's metrics): give each app its own Registry, and combine them with Registry.merge() to serve them together`)
  }
  const { Counter, Gauge } = await import('prom-client')
  const registers = [registry as any]
  const gauge = (name: string, help: string, read: () => number | undefined) => new Gauge({
    name, help, registers, collect () { const value = read(); if (value !== undefined) this.set(value) }
  })
  const counter = (name: string, help: string, read: () => number | undefined) => new Counter({
    name, help, registers, collect () { const value = read(); this.reset(); if (value !== undefined) this.inc(value) }
  })
  gauge('fastify_views_open_connections', 'Open topic subscription streams', () => metrics.openConnections)
  counter('fastify_views_connections_total', 'Topic subscription streams opened', () => metrics.connectionsTotal)
  counter('fastify_views_events_delivered_total', 'Events written to subscription streams', () => metrics.eventsDelivered)
  counter('fastify_views_slow_closed_total', 'Streams closed because the client fell behind its byte budget', () => metrics.closedForSlowness)
  counter('fastify_views_resets_total', 'Reset events sent because a cursor could not be honoured', () => metrics.resets)
  counter('fastify_views_refused_events_total', 'Events a stream did not send because its route refused them (each ended the stream with an error frame carrying its id)', () => metrics.refusedEvents)
  new Counter({
    name: 'fastify_views_refused_total', help: 'Subscription requests refused before streaming', labelNames: ['reason'], registers,
    collect () {
      const self = this as unknown as Countable
      self.reset()
      for (const [reason, value] of Object.entries(metrics.refused)) self.inc({ reason }, value)
    }
  })
  new Gauge({
    name: 'fastify_views_subscriptions', help: 'Open subscriptions by number of topics', labelNames: ['topics'], registers,
    collect () {
      const self = this as unknown as Settable
      self.reset()
      for (const [count, value] of Object.entries(metrics.subscriptionsByTopicCount())) self.set({ topics: count }, value)
    }
  })
  new Gauge({
    name: 'fastify_views_open_streams', help: STREAM_HELP.open, labelNames: ['route'], registers,
    collect () {
      const self = this as unknown as Settable
      self.reset()
      for (const [route, counts] of Object.entries(metrics.streams.byRoute())) self.set({ route }, counts.open)
    }
  })
  new Counter({
    name: 'fastify_views_streams_opened_total', help: STREAM_HELP.opened, labelNames: ['route'], registers,
    collect () {
      const self = this as unknown as Countable
      self.reset()
      for (const [route, counts] of Object.entries(metrics.streams.byRoute())) self.inc({ route }, counts.opened)
    }
  })
  new Counter({
    name: 'fastify_views_streams_closed_total', help: STREAM_HELP.closed, labelNames: ['route', 'reason'], registers,
    collect () {
      const self = this as unknown as Countable
      self.reset()
      for (const [route, counts] of Object.entries(metrics.streams.byRoute())) {
        for (const reason of CLOSE_REASONS) self.inc({ route, reason }, counts.closed[reason])
      }
    }
  })
  counter('fastify_views_events_published_total', 'Events published through this instance', () => brokerStats()?.publishedEvents)
  counter('fastify_views_broker_reconnects_total', 'Broker subscriber reconnects', () => brokerStats()?.reconnects)
  gauge('fastify_views_broker_active_topics', 'Topics this instance listens to', () => brokerStats()?.activeTopics)
  // Redis only: garbage on the channel, and events of other publishers that the topic catalog refused - never
  // delivered, so an operator must see them (0 on the memory broker, as in the built-in text).
  counter('fastify_views_broker_malformed_messages_total', BROKER_HELP.malformed, () => brokerStats() === undefined ? undefined : (brokerStats() as Partial<RedisCounts>).malformedMessages ?? 0)
  counter('fastify_views_broker_refused_messages_total', BROKER_HELP.refused, () => brokerStats() === undefined ? undefined : (brokerStats() as Partial<RedisCounts>).refusedMessages ?? 0)
  return () => { for (const name of NAMES) registry.removeSingleMetric(name) }
}
