/**
 * Issue 11 #4, the measurement over real HTTP at the defaults (budget 1 MiB): a client stops
 * reading under a stream of ~72-byte events, is closed for slowness, reads what reached it, and reconnects
 * with its last id. With a history of 1,000 events it was tens of thousands of events behind: a reset.
 * History is now bounded by bytes and time, so it resumes exactly - on memory and on Redis.
 * And the startup check: a history that cannot cover the budget is refused, naming both settings.
 */
import t from 'tap'
import { request } from 'undici'
import { createApp, SubscriptionView, ViewRouter } from '../../lib/index.js'
import { startRedis } from '../helpers/redis-server.js'
import { parseFrames, type Frame } from '../helpers/sse-frames.js'
import { dispatcher, StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { listen } from '../helpers/http.js'

const redis = await startRedis({ t })
// A quickstart-like `{ id }` notification: 72 bytes of JSON.
const note = (n: number) => ({ id: `0190f3a2-7c4e-7d5b-9a1e-${String(n).padStart(12, '0')}`, n: String(n).padStart(7, '0'), kind: 'new' })

for (const backend of ['memory', 'redis'] as const) {
  t.test(`issue-11-4: ${backend}: a client closed for slowness at the default budget resumes exactly`, async (t) => {
    const app = await createApp({ env: {}, fastify: { logger: false }, drainMs: 0, topicPrefix: `slow${Date.now()}:`, ...(backend === 'redis' ? { redisUrl: redis.url } : {}) })
    t.teardown(() => app.close())
    await app.register(new ViewRouter().registerView(SubscriptionView({}), { prefix: '/events' }).plugin)
    const base = await listen(app)
    t.equal(JSON.stringify(note(1)).length, 72, 'a 72-byte event')

    const response = await request(`${base}/events?topic=tasks`, { dispatcher })
    t.equal(response.statusCode, 200)
    let text = ''
    let ended = false
    response.body.setEncoding('utf8')
    response.body.on('data', (chunk: string) => { text += chunk })
    response.body.on('end', () => { ended = true })
    response.body.on('error', () => { ended = true })
    await until(() => text.includes('event: subscribed'), 'subscribed')
    // The client stops reading: undici stops taking from the socket once its buffer is full.
    response.body.pause()

    let published = 0
    while (app.broker.subscriberCount('tasks') > 0 && published < 400_000) {
      const batch: Array<Promise<unknown>> = []
      for (let i = 0; i < 500; i++) batch.push(app.broker.publish('tasks', 'task:created', note(++published)))
      await Promise.all(batch)
      // As publishes from requests do: the event loop turns between them, so streams flush.
      await new Promise((resolve) => setImmediate(resolve))
    }
    t.equal(app.broker.subscriberCount('tasks'), 0, `closed for slowness after ${published} events`)

    // It reads what reached it, then the end of the stream.
    response.body.resume()
    await until(() => ended, 'the end of the closed stream', 60_000)
    const frames: Frame[] = parseFrames(text).frames
    const received = frames.filter((frame) => frame.event === 'task:created').map((frame) => Number((JSON.parse(frame.data) as { n: string }).n))
    t.same(received, Array.from({ length: received.length }, (_, i) => i + 1), 'what it received is in order, without gaps')
    const lastId = [...frames].reverse().find((frame) => frame.id !== undefined)?.id as string
    const behind = published - received.length
    t.comment(`${backend}: closed after ${published} events; it had ${received.length}, ${behind} behind`)
    t.ok(behind > 1000, 'it is more than the old 1,000-event history behind')

    const again = await StreamReader.open(base, '/events?topic=tasks', { 'last-event-id': lastId })
    t.teardown(() => again.close())
    await until(() => again.frames.length > 0, 'the first frame')
    t.equal(again.frames[0].event, 'subscribed', 'it resumes: no reset')
    await again.waitForPublished(behind, 'missed events', 60_000)
    await app.broker.publish('tasks', 'task:created', note(published + 1))
    await again.waitForPublished(behind + 1)
    const resumed = again.published.map((frame) => Number((JSON.parse(frame.data) as { n: string }).n))
    t.equal(resumed.length, behind + 1)
    t.ok(resumed.every((n, i) => n === received.length + 1 + i), 'exactly the missed events, in order, then live')
  })
}

t.test('issue-11-4: a history that cannot cover the stream budget stops startup, naming both settings', async (t) => {
  await t.rejects(createApp({ env: {}, fastify: { logger: false }, historyBytes: 1024 * 1024 }), {
    code: 'FVIEWS_ERR_OPTION_INVALID',
    statusCode: 500,
    message: "Invalid setting 'historyBytes': 1048576 bytes of history per topic cannot replay what a stream closed for slowness lacks: " +
      'budgetBytes (1048576) plus 4194304 bytes of socket buffers. Set historyBytes to at least 5242880, or lower budgetBytes'
  })
  await t.rejects(createApp({ env: {}, fastify: { logger: false }, historySize: 0 }), {
    code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'historySize': expected an integer from 1 to 100000000, got '0'"
  })
  await t.rejects(createApp({ env: {}, fastify: { logger: false }, historyWindowSeconds: -1 }), {
    code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'historyWindowSeconds': expected an integer from 0 to 86400, got '-1'"
  })
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  t.same([app.broker.historyBytes, app.broker.historyWindowSeconds, app.broker.historySize], [16 * 1024 * 1024, 60, 262_144], 'the defaults')
})
