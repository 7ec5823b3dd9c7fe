/**
 * fastify-views: a topic subscription through the broker, as its README shows it - createApp, a
 * SubscriptionView on the one broadcast topic, and `app.broker.publish()` per event. In memory by default;
 * through Redis when REDIS_URL is set (the `fastify-views-redis` row: the runner starts a redis-server).
 * Each event is framed once and the same Buffer is written to every stream.
 */
import type { Server } from 'node:http'
import { createApp, SubscriptionView, ViewRouter } from '../../lib/index.js'
import { announce, exitOnSignal, listenOptions, stats } from '../lib/protocol.js'
import { publishRoute } from '../lib/broker-publish.js'

const app = await createApp({
  env: {},
  redisUrl: process.env.REDIS_URL,
  fastify: { logger: false },
  docsPath: false,
  healthPath: false,
  maxConnections: 1_000_000,
  drainMs: 0
})
const router = new ViewRouter()
router.registerView(SubscriptionView({ topics: ['bench'] }), { prefix: '/sse' })
await app.register(router.plugin)

publishRoute(app)

app.get('/stats', async () => stats(app.topicMetrics.openConnections))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
