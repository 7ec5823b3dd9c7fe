/**
 * fastify-views: a topic subscription through the broker, as its README shows it - createApp, a
 * SubscriptionView on the one broadcast topic, and `app.broker.publish()` per event. In memory by default;
 * through Redis when REDIS_URL is set (the `fastify-views-redis` row: the runner starts a redis-server).
 * Each event is framed once and the same Buffer is written to every stream.
 */
import type { Server } from 'node:http'
import { createApp, SubscriptionView, ViewRouter } from '../../lib/index.js'
import { announce, exitOnSignal, lastSeq, listenOptions, nextTick, publishParams, stats } from '../lib/protocol.js'

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

// The K publishes are issued at once and awaited together: a broker keeps the order of publish() calls
// (Redis: one connection, commands in call order), so with Redis they are pipelined instead of each
// waiting for the previous round trip.
app.post('/publish', async (request) => {
  const { k, b } = publishParams(request.query as Record<string, unknown>)
  const published: Array<Promise<unknown>> = []
  for (let i = 0; i < k; i++) published.push(app.broker.publish('bench', 'tick', nextTick(b)))
  await Promise.all(published)
  return { published: k, lastSeq: lastSeq() }
})

app.get('/stats', async () => stats(app.topicMetrics.openConnections))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
