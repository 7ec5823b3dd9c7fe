/**
 * Type-level tests of the plugin: its options are typed at register(), what it decorates is typed by
 * module augmentation, and subscribeToEvents fits an ordinary route. Each `@ts-expect-error` must be an error.
 */
import Fastify from 'fastify'
import fastifyViews, { MemoryBroker, subscribeToEvents, type Broker, type TopicMetrics } from '../../lib/index.js'

const app = Fastify()
await app.register(fastifyViews, { title: 'Typed', cors: { origin: ['https://a.example'] }, heartbeat: 'event', broker: new MemoryBroker() })
// @ts-expect-error the title is a string
await app.register(fastifyViews, { title: 42 })
// @ts-expect-error no such option
await app.register(fastifyViews, { nonsense: true })
// @ts-expect-error heartbeat is 'comment' or 'event'
await app.register(fastifyViews, { heartbeat: 'ping' })
await app.register(fastifyViews, { authorize: async (request, topic) => request.headers.authorization !== undefined && topic !== '' })

const broker: Broker = app.broker
const metrics: TopicMetrics = app.topicMetrics
app.get('/events', subscribeToEvents({ topics: ['news'], heartbeat: 'event' }))
app.get('/events2', { ...subscribeToEvents(), preHandler: async () => {} })
// @ts-expect-error a subscription's heartbeat is 'comment' or 'event'
subscribeToEvents({ heartbeat: 'ping' })
export { broker, metrics }
