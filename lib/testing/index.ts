// `fastify-views/testing`: helpers for testing event streams (views, @sseRoute, topic subscriptions) over
// real HTTP. A separate entry: `import 'fastify-views'` does not load it.
export {
  openEventStream, type EventMap, type OpenEventStreamOptions, type StreamableApp, type TestEvent, type TestEventOf,
  type TestEventStream, type WaitOptions
} from './event-stream.js'
export type { EventsOf, EventsOfDefinition, TopicControlEvents, TopicStreamEvents } from './events-of.js'
