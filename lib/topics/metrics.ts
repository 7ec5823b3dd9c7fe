/**
 * Counters for operators: readable from code (`app.topicMetrics`) and as Prometheus text.
 * Plain integers bumped on the hot path; the text is built only when scraped.
 */
import type { BrokerStats } from '../broker/contract.js'

export class TopicMetrics {
  openConnections = 0
  connectionsTotal = 0
  eventsDelivered = 0
  closedForSlowness = 0
  refused = { badRequest: 0, forbidden: 0, overCapacity: 0 }
  resets = 0
  /** The app's stream registry, which counts the events streams refused (any route's, not only topics'). */
  streams: { readonly refusedEvents: number } | undefined
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
    return this.streams?.refusedEvents ?? 0
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
    if (broker !== undefined) {
      metric('fastify_views_events_published_total', 'counter', 'Events published through this instance', broker.publishedEvents)
      metric('fastify_views_broker_reconnects_total', 'counter', 'Broker subscriber reconnects', broker.reconnects)
      metric('fastify_views_broker_active_topics', 'gauge', 'Topics this instance listens to', broker.activeTopics)
    }
    return lines.join('\n') + '\n'
  }
}
