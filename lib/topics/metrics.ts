/**
 * Counters for operators: readable from code (`app.topicMetrics`) and as Prometheus text.
 * Plain integers bumped on the hot path; the text is built only when scraped.
 */
import type { BrokerStats } from '../broker/contract.js'
import { CLOSE_REASONS, StreamCounts } from '../sse/registry.js'

/** A label value in the text format: backslash, double quote and line feed escaped. */
function labelValue (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** What the stream metrics say, shared by the built-in text and prom-client (prometheus.ts). */
/** Help of the counters only some brokers keep (the Redis broker's RedisBrokerStats). */
export const BROKER_HELP = {
  malformed: 'Broker channel messages skipped because this library could not have written them',
  refused: 'Events of other publishers the topic catalog refused (not delivered)'
}

export const STREAM_HELP = {
  open: 'Open event streams by route, every kind (views\' own, relays of broker.subscribe(), topic subscriptions)',
  opened: 'Event streams opened, by route',
  closed: 'Event streams closed, by route and reason: finished (the source ended), client (the client left), slow (the client fell behind its byte budget), shutdown (the app closed), error (the source failed)'
}

export class TopicMetrics {
  openConnections = 0
  connectionsTotal = 0
  eventsDelivered = 0
  closedForSlowness = 0
  refused = { badRequest: 0, forbidden: 0, overCapacity: 0 }
  resets = 0
  /**
   * Every event stream of the app by route (its URL template), topic subscriptions included: the app's
   * stream registry counts them (the fastify-views plugin hands its counts over).
   */
  streams = new StreamCounts()
  /** How many open subscriptions have N topics: index N. */
  private readonly byTopicCount = new Map<number, number>()

  opened (topicCount: number): void {
    this.openConnections++
    this.connectionsTotal++
    this.byTopicCount.set(topicCount, (this.byTopicCount.get(topicCount) ?? 0) + 1)
  }

  closed (topicCount: number, slow: boolean): void {
    this.openConnections--
    if (slow) this.closedForSlowness++
    const left = (this.byTopicCount.get(topicCount) ?? 1) - 1
    if (left === 0) this.byTopicCount.delete(topicCount)
    else this.byTopicCount.set(topicCount, left)
  }

  /**
   * Events a stream's route refused to send (its schema did not accept them): each ended its stream with an
   * error frame carrying the event's id, so the client resumed past it.
   */
  get refusedEvents (): number {
    return this.streams.refusedEvents
  }

  subscriptionsByTopicCount (): Record<number, number> {
    return Object.fromEntries([...this.byTopicCount].sort((a, b) => a[0] - b[0]))
  }

  toPrometheus (broker?: BrokerStats): string {
    const lines: string[] = []
    const metric = (name: string, type: string, help: string, value: number, labels = '') => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${labels} ${value}`)
    }
    metric('fastify_views_open_connections', 'gauge', 'Open topic subscription streams', this.openConnections)
    metric('fastify_views_connections_total', 'counter', 'Topic subscription streams opened', this.connectionsTotal)
    metric('fastify_views_events_delivered_total', 'counter', 'Events written to subscription streams', this.eventsDelivered)
    metric('fastify_views_slow_closed_total', 'counter', 'Streams closed because the client fell behind its byte budget', this.closedForSlowness)
    metric('fastify_views_resets_total', 'counter', 'Reset events sent because a cursor could not be honoured', this.resets)
    metric('fastify_views_refused_events_total', 'counter', 'Events a stream did not send because its route refused them (each ended the stream with an error frame carrying its id)', this.refusedEvents)
    lines.push('# HELP fastify_views_refused_total Subscription requests refused before streaming', '# TYPE fastify_views_refused_total counter')
    for (const [reason, value] of Object.entries(this.refused)) lines.push(`fastify_views_refused_total{reason="${reason}"} ${value}`)
    lines.push('# HELP fastify_views_subscriptions Open subscriptions by number of topics', '# TYPE fastify_views_subscriptions gauge')
    for (const [count, value] of Object.entries(this.subscriptionsByTopicCount())) lines.push(`fastify_views_subscriptions{topics="${count}"} ${value}`)
    const routes = Object.entries(this.streams.byRoute()).map(([route, counts]) => [labelValue(route), counts] as const)
    lines.push(`# HELP fastify_views_open_streams ${STREAM_HELP.open}`, '# TYPE fastify_views_open_streams gauge')
    for (const [route, counts] of routes) lines.push(`fastify_views_open_streams{route="${route}"} ${counts.open}`)
    lines.push(`# HELP fastify_views_streams_opened_total ${STREAM_HELP.opened}`, '# TYPE fastify_views_streams_opened_total counter')
    for (const [route, counts] of routes) lines.push(`fastify_views_streams_opened_total{route="${route}"} ${counts.opened}`)
    lines.push(`# HELP fastify_views_streams_closed_total ${STREAM_HELP.closed}`, '# TYPE fastify_views_streams_closed_total counter')
    for (const [route, counts] of routes) {
      for (const reason of CLOSE_REASONS) lines.push(`fastify_views_streams_closed_total{route="${route}",reason="${reason}"} ${counts.closed[reason]}`)
    }
    if (broker !== undefined) {
      metric('fastify_views_events_published_total', 'counter', 'Events published through this instance', broker.publishedEvents)
      metric('fastify_views_broker_reconnects_total', 'counter', 'Broker subscriber reconnects', broker.reconnects)
      metric('fastify_views_broker_active_topics', 'gauge', 'Topics this instance listens to', broker.activeTopics)
      const counts = broker as Partial<Record<'malformedMessages' | 'refusedMessages', number>>
      // Redis only (the memory broker has no other writer): 0 elsewhere, so a dashboard's query works on both.
      metric('fastify_views_broker_malformed_messages_total', 'counter', BROKER_HELP.malformed, counts.malformedMessages ?? 0)
      metric('fastify_views_broker_refused_messages_total', 'counter', BROKER_HELP.refused, counts.refusedMessages ?? 0)
    }
    return lines.join('\n') + '\n'
  }
}
