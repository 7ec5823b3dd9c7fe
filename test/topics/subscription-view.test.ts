import t from 'tap'
import { Writable } from 'node:stream'
import { createApp, SubscriptionView, ViewRouter, type CreateAppOptions } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'
import { SSEClient } from '../helpers/sse-client.js'
import type { TestContext } from '../helpers/context.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

async function appWith (t: TestContext, view: ReturnType<typeof SubscriptionView>, options: CreateAppOptions = {}) {
  const app = await createApp({ env: {}, fastify: { logger: false }, ...options })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(view, { prefix: '/events' }).plugin)
  return { app, base: await listen(app) }
}

t.test('bad topics are refused with a 400 problem document and nothing streamed', async (t) => {
  const { base } = await appWith(t, SubscriptionView())
  const cases: Array<[string, string]> = [
    ['/events', 'No topic: subscribe with ?topic=name (several: ?topic=a,b)'],
    ['/events?topic=', "Invalid topic '': empty"],
    ['/events?topic=a,,b', "Invalid topic '': empty"],
    [`/events?topic=${'x'.repeat(257)}`, `Invalid topic '${'x'.repeat(64)}': longer than 256 characters`],
    ['/events?topic=a%20b', "Invalid topic 'a b': contains whitespace"],
    ['/events?topic=a%01b', "Invalid topic 'a\\u0001b': contains a control character"],
    [`/events?topic=${Array.from({ length: 33 }, (_, i) => `t${i}`).join(',')}`, 'Too many topics: 33, at most 32']
  ]
  for (const [path, detail] of cases) {
    const res = await http(base, 'GET', path)
    t.equal(res.status, 400, path)
    t.equal(res.headers['content-type'], PROBLEM, path)
    t.same(res.json(), { type: 'about:blank', title: 'Bad Request', status: 400, detail, instance: '/events', code: 'FVIEWS_ERR_TOPIC_INVALID' }, path)
  }
})

t.test('authorization runs for every topic before streaming: 403 names the topic, a throwing callback is a logged 500', async (t) => {
  const logs: any[] = []
  const stream = new Writable({ write (chunk, _e, done) { logs.push(JSON.parse(String(chunk))); done() } })
  const asked: string[] = []
  const view = SubscriptionView({
    authorize: (_request, topic) => {
      asked.push(topic)
      if (topic === 'boom') throw new Error('directory down')
      return topic.startsWith('public')
    }
  })
  const { base } = await appWith(t, view, { fastify: { logger: { level: 'error', stream } } })
  let res = await http(base, 'GET', '/events?topic=public-a,secret,public-b')
  t.same([res.status, res.json()], [403, { type: 'about:blank', title: 'Forbidden', status: 403, detail: "Not allowed to subscribe to topic 'secret'", instance: '/events', code: 'FVIEWS_ERR_TOPIC_FORBIDDEN', topic: 'secret' }])
  t.same(asked, ['public-a', 'secret'])
  res = await http(base, 'GET', '/events?topic=boom')
  t.same([res.status, res.json()], [500, { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: "Authorization of topic 'boom' failed", instance: '/events', code: 'FVIEWS_ERR_AUTHORIZE_FAILED' }])
  t.ok(logs.some((line) => line.msg === 'subscription: authorize threw' && line.topic === 'boom' && line.err.message === 'directory down'))
})

t.test('at the connection limit a subscription gets 503 with Retry-After', async (t) => {
  const { app, base } = await appWith(t, SubscriptionView(), { maxConnections: 1 })
  const first = new SSEClient(`${base}/events?topic=a`, { types: ['x'] })
  t.teardown(() => first.close())
  await first.opened
  const res = await http(base, 'GET', '/events?topic=a')
  t.same([res.status, res.headers['retry-after'], res.json().code], [503, '2', 'FVIEWS_ERR_OVER_CAPACITY'])
  t.equal(app.topicMetrics.openConnections, 1)
  t.equal(app.topicMetrics.refused.overCapacity, 1)
})

t.test('a static topic list ignores ?topic and streams what is published, with metrics', async (t) => {
  const { app, base } = await appWith(t, SubscriptionView({ topics: ['news'] }), { metricsPath: '/metrics' })
  const client = new SSEClient(`${base}/events?topic=other`, { types: ['story'] })
  t.teardown(() => client.close())
  await client.opened
  await app.broker.publish('other', 'story', { n: 0 })
  await app.broker.publish('news', 'story', { n: 1 })
  await app.broker.publish('news', 'story', { n: 2 })
  const events = await client.waitFor(2)
  t.same(events.map((event) => event.data), ['{"n":1}', '{"n":2}'])
  t.same(app.topicMetrics.subscriptionsByTopicCount(), { 1: 1 })
  const metrics = await http(base, 'GET', '/metrics')
  t.equal(metrics.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.match(metrics.text, /^fastify_views_open_connections 1$/m)
  t.match(metrics.text, /^fastify_views_events_delivered_total 2$/m)
  t.match(metrics.text, /^fastify_views_subscriptions\{topics="1"\} 1$/m)
  const health = await http(base, 'GET', '/health')
  t.same([health.status, health.json().status, health.json().openConnections], [200, 'ok', 1])
})
