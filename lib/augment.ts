/**
 * What the plugin decorates on a Fastify instance, typed by module augmentation. In a file of its own
 * that the main entry re-exports a type from: a package consumer's TypeScript loads only the declaration
 * files reachable from index.d.ts, and an augmentation in a file nothing reachable imports never applies.
 */
import type { Broker } from './broker/broker.js'
import type { TopicMetrics } from './topics/metrics.js'

/** The instance's decorations once the plugin has a broker (`createApp()` or `register(fastifyViews, { broker })`). */
export interface FastifyViewsDecorations {
  /** The event broker: `await app.broker.publish(topic, event, data)`. */
  broker: Broker
  /** Counters of the topic streams of this app. */
  topicMetrics: TopicMetrics
}

declare module 'fastify' {
  // Merges into Fastify's interface: the members are FastifyViewsDecorations'.
  // eslint-disable-next-line @typescript-eslint/no-empty-interface
  interface FastifyInstance extends FastifyViewsDecorations {}
}
