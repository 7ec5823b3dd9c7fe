/**
 * Issue 11 #18 over real HTTP: a handler wrapped in publishEvent({ topic: ['tasks', 'task:7'] }) (the
 * README's snippet subscribes to both) reached a client subscribed to both twice, with two ids. Exactly
 * once means once per connection, live and on resume; on memory, Redis and a 3-master Redis Cluster.
 */
import t, { type Test } from 'tap'
import { createApp, publishEvent, SubscriptionView, ViewRouter } from '../../lib/index.js'
import { startRedis, startRedisCluster } from '../helpers/redis-server.js'
import { eventsPath } from '../helpers/delivery-app.js'
import { describe } from '../helpers/ledger.js'
import { StreamReader, dispatcher } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { request } from 'undici'
import { listen } from '../helpers/http.js'

const redis = await startRedis({ t })
const cluster = await startRedisCluster({ masters: 3, t })

async function boot (t: Test, backend: 'memory' | 'redis' | 'redis-cluster'): Promise<string> {
  const app = await createApp({
    env: {},
    fastify: { logger: false },
    drainMs: 0,
    topicPrefix: `cross${Math.random().toString(36).slice(2, 8)}:`,
    ...(backend === 'redis' ? { redisUrl: redis.url } : {}),
    ...(backend === 'redis-cluster' ? { redisCluster: cluster.startupNodes } : {})
  })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(SubscriptionView({}), { prefix: '/events' }).plugin)
  app.post('/tasks/7', publishEvent({ topic: ['tasks', 'task:7'], event: 'task:updated' })(async (req) => req.body))
  app.post('/tasks', publishEvent({ topic: 'tasks', event: 'task:created' })(async (req) => req.body))
  return listen(app)
}

async function post (base: string, path: string, body: unknown): Promise<void> {
  const response = await request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), dispatcher })
  const text = await response.body.text()
  if (response.statusCode !== 200) throw new Error(`POST ${path}: ${response.statusCode} ${text}`)
}

for (const backend of ['memory', 'redis', 'redis-cluster'] as const) {
  t.test(`${backend}: issue-11-18: an event published to tasks and task:7 reaches a client of both once, live and on resume`, async (t) => {
    const base = await boot(t, backend)
    const reader = await StreamReader.open(base, eventsPath(['tasks', 'task:7']))
    t.teardown(() => reader.close())
    await until(() => reader.frames.length === 1, 'subscribed')
    const opened = reader.frames[0].id as string
    for (let n = 1; n <= 3; n++) await post(base, '/tasks/7', { n })
    // A last event on one topic: once it is here, any duplicate of the earlier ones would be too.
    await post(base, '/tasks', { n: 4 })
    await reader.waitForPublished(4)
    const expected = [
      'subscribed {"topics":["task:7","tasks"]}',
      'task:updated {"n":1}', 'task:updated {"n":2}', 'task:updated {"n":3}', 'task:created {"n":4}'
    ]
    t.same(describe(reader.frames), expected, 'live: each publish once')
    t.equal(new Set(reader.frames.map((frame) => frame.id)).size, 5, 'each with its own id')
    reader.close()

    const resumed = await StreamReader.open(base, eventsPath(['tasks', 'task:7']), { 'last-event-id': opened })
    t.teardown(() => resumed.close())
    await resumed.waitForPublished(4)
    await post(base, '/tasks', { n: 5 })
    await resumed.waitForPublished(5)
    t.same(describe(resumed.frames), [...expected, 'task:created {"n":5}'], 'resumed: each publish once, then live')
  })
}
