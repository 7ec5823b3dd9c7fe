/**
 * The seed's API on plain routes (issue 12): `app.get('/events', subscribeToEvents({ ... }))`, an
 * app-level `authorize`, a subscription endpoint mounted from `ssePath` / SSE_PATH, `?topics=` beside
 * `?topic=`, and `event: heartbeat` frames for clients written like the seed's.
 */
import t from 'tap'
import Fastify from 'fastify'
import { createApp, fastifyViews, MemoryBroker, subscribeToEvents, SubscriptionView, ViewRouter, UnauthorizedError } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'
import { SSEClient } from '../helpers/sse-client.js'
import { frames, openStream } from '../helpers/sse-http.js'
import { until } from '../helpers/wait.js'
import { openEventStream } from '../../lib/testing/index.js'
import type { TestContext } from '../helpers/context.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

async function pluginApp (t: TestContext, options: Parameters<typeof fastifyViews>[1] = {}) {
  const broker = new MemoryBroker()
  const app = Fastify({ logger: false })
  t.teardown(async () => { await app.close(); await broker.close() })
  await app.register(fastifyViews, { broker, ...options })
  return { app, broker }
}

t.test('a plain route subscribes: every event, in order, exactly once, with ?topic= and ?topics=', async (t) => {
  const { app, broker } = await pluginApp(t)
  app.get('/events', subscribeToEvents())
  const base = await listen(app)
  const client = new SSEClient(`${base}/events?topic=a&topics=b,a`, { types: ['subscribed', 'x'] })
  t.teardown(() => client.close())
  const [subscribed] = await client.waitFor(1)
  t.same([subscribed.type, JSON.parse(subscribed.data)], ['subscribed', { topics: ['a', 'b'] }], 'both spellings add up, deduplicated')
  for (let i = 0; i < 20; i++) await broker.publish(i % 2 === 0 ? 'a' : 'b', 'x', { i })
  // A last event on the other topic: a duplicate of any earlier one would arrive before it.
  await broker.publish('b', 'x', { i: 20 })
  const events = await client.waitFor(22)
  t.same(events.slice(1).map((event) => [event.type, JSON.parse(event.data).i]), Array.from({ length: 21 }, (_, i) => ['x', i]))
  t.equal(client.events.length, 22)
})

t.test('subscribeToEvents spreads into route options with the route\'s own hooks, and is documented', async (t) => {
  const { app, broker } = await pluginApp(t)
  app.get('/news', {
    ...subscribeToEvents({ topics: ['news'] }),
    preHandler: async (request) => { if (request.headers.authorization !== 'Bearer ok') throw new UnauthorizedError('Sign in first') }
  })
  const base = await listen(app)
  const refused = await http(base, 'GET', '/news')
  t.same([refused.status, refused.headers['content-type'], refused.json()],
    [401, PROBLEM, { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'Sign in first', instance: '/news', code: 'FVIEWS_HTTP_UNAUTHORIZED' }])
  const stream = await openEventStream(app, '/news', { headers: { authorization: 'Bearer ok' } })
  t.teardown(() => stream.close())
  t.same([stream.status, stream.headers['content-type']], [200, 'text/event-stream; charset=utf-8'])
  await stream.next('subscribed')
  await broker.publish('news', 'story', { n: 1 })
  const story = await stream.next()
  t.same([story.event, story.data], ['story', { n: 1 }])
  t.match(stream.text.split(/(?<=\n\n)/).at(-1), /^id: [^\n]+\nevent: story\ndata: \{"n":1\}\n\n$/, 'the exact frame')

  const document = (await http(base, 'GET', '/docs/json')).json()
  const operation = document.paths['/news'].get
  t.equal(operation.summary, 'Subscribe to news')
  t.ok(operation.responses['200'].content['text/event-stream'], 'documented as an event stream')
  t.ok(operation.responses['500'], 'with its problem responses')
  t.equal(operation.operationId, undefined, 'no derived operationId: it would repeat on every such route')
})

t.test('the app-level authorize applies to plain routes, SubscriptionViews and ssePath; a subscription\'s own wins', async (t) => {
  const asked: string[] = []
  const { app } = await pluginApp(t, {
    ssePath: '/sse',
    authorize: (_request, topic) => { asked.push(topic); return !topic.startsWith('secret') }
  })
  app.get('/events', subscribeToEvents())
  app.get('/open', subscribeToEvents({ authorize: () => true }))
  await app.register(new ViewRouter().registerView(SubscriptionView(), { prefix: '/view' }).plugin)
  const base = await listen(app)
  for (const path of ['/events', '/view', '/sse']) {
    const res = await http(base, 'GET', `${path}?topic=public,secret-plans`)
    t.same([res.status, res.headers['content-type'], res.json()],
      [403, PROBLEM, { type: 'about:blank', title: 'Forbidden', status: 403, detail: "Not allowed to subscribe to topic 'secret-plans'", instance: path, code: 'FVIEWS_ERR_TOPIC_FORBIDDEN', topic: 'secret-plans' }], path)
  }
  t.same(asked, ['public', 'secret-plans', 'public', 'secret-plans', 'public', 'secret-plans'])
  const paths = (await http(base, 'GET', '/docs/json')).json().paths
  for (const path of ['/events', '/view', '/sse']) t.ok(paths[path].get.responses['403'], `${path} documents the 403 of the app's authorize`)
  const open = await openStream(base, '/open?topic=secret-plans')
  t.teardown(() => open.body.close())
  t.equal(open.status, 200, "the route's own authorize wins")
  await open.body.until('event: subscribed\n')
})

t.test("heartbeat: 'event' sends `event: heartbeat` frames, without an id so the resume cursor stays", async (t) => {
  const { app, broker } = await pluginApp(t, { heartbeat: 'event', heartbeatSeconds: 0.2 })
  app.get('/events', subscribeToEvents())
  app.get('/comments', subscribeToEvents({ heartbeat: 'comment' }))
  const base = await listen(app)
  const client = new SSEClient(`${base}/events?topic=a`, { types: ['subscribed', 'heartbeat', 'x'] })
  t.teardown(() => client.close())
  await client.waitFor(1)
  const published = await broker.publish('a', 'x', 1)
  await until(() => client.events.filter((event) => event.type === 'heartbeat').length >= 2, 'two heartbeats after the event', 20_000)
  const afterEvent = client.events.slice(client.events.findIndex((event) => event.type === 'x'))
  t.equal(afterEvent[0].type, 'x')
  const heartbeat = afterEvent.find((event) => event.type === 'heartbeat')!
  t.same(heartbeat.data, '{}')
  t.equal(published.topic, 'a')

  const raw = await openStream(base, '/events?topic=b')
  t.teardown(() => raw.body.close())
  const text = await raw.body.until('event: heartbeat\n')
  // No id line: EventSource keeps its last event ID buffer, so a resume after heartbeats still starts
  // after the last real event (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
  t.ok(frames(text).includes('event: heartbeat\ndata: {}\n\n'), 'the exact frame, without an id')
  const comments = await openStream(base, '/comments?topic=b')
  t.teardown(() => comments.body.close())
  const commentText = await comments.body.until(': \n\n', 2)
  t.notOk(commentText.includes('heartbeat'), "a subscription's own style wins")
})

t.test('createApp mounts the subscription endpoint from ssePath or SSE_PATH, with the app-level authorize', async (t) => {
  const fromEnv = await createApp({ env: { SSE_PATH: '/sse' }, fastify: { logger: false }, authorize: (_request, topic) => topic !== 'no' })
  t.teardown(() => fromEnv.close())
  const base = await listen(fromEnv)
  t.equal((await http(base, 'GET', '/sse?topic=no')).status, 403)
  const stream = await openEventStream(fromEnv, '/sse?topics=yes')
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  t.same((await stream.next('subscribed')).data, { topics: ['yes'] })
  await fromEnv.broker.publish('yes', 'e', { ok: true })
  t.same((await stream.next()).data, { ok: true })

  const fromOption = await createApp({ env: { SSE_PATH: '/ignored' }, ssePath: '/events', fastify: { logger: false } })
  t.teardown(() => fromOption.close())
  const ignored = await openEventStream(fromOption, '/ignored?topic=a')
  t.equal(ignored.status, 404)
  await ignored.close()
  const missing = await openEventStream(fromOption, '/events')
  t.equal(JSON.parse(await missing.body()).code, 'FVIEWS_ERR_TOPIC_INVALID')
  await missing.close()
})

t.test('issue d04: subscribeToEvents where no plugin saw it (no plugin, a sibling scope, the plugin after the route) stops startup, naming the fix', async (t) => {
  // Fastify wraps what the route's serializer compiler throws at startup (the documented mechanism of the check).
  const error = (method: string, url: string) => ({
    code: 'FST_ERR_SCH_SERIALIZATION_BUILD',
    message: `Failed building the serialization schema for ${method}: ${url}, due to error FVIEWS_ERR_BROKER_MISSING: Topic subscriptions ` +
      "(a subscribeToEvents() route that no fastify-views plugin saw: register the plugin in the route's scope or a parent scope, before the route) need a broker, " +
      'and the app has none: build it with createApp(), register fastifyViews with { broker }, or decorate app.broker'
  })
  const bare = Fastify({ logger: false })
  t.teardown(() => bare.close())
  bare.get('/events', subscribeToEvents())
  await t.rejects(bare.listen({ port: 0, host: '127.0.0.1' }), error('GET', '/events'))

  const broker = new MemoryBroker()
  t.teardown(() => broker.close())
  const siblings = Fastify({ logger: false })
  t.teardown(() => siblings.close())
  siblings.register(async (scope) => { await scope.register(fastifyViews, { broker, openapi: false }) })
  siblings.register(async (scope) => { scope.get('/events', subscribeToEvents({ authorize: () => true })) })
  await t.rejects(siblings.listen({ port: 0, host: '127.0.0.1' }), error('GET', '/events'))

  const late = Fastify({ logger: false })
  t.teardown(() => late.close())
  late.get('/early', subscribeToEvents())
  await late.register(fastifyViews, { broker, openapi: false })
  await t.rejects(async () => { await late.ready() }, error('GET', '/early'), 'the plugin after the route: it never saw it')

  // A route the plugin saw, in a scope without a broker: the plugin's own check, with its code.
  const brokerless = Fastify({ logger: false })
  t.teardown(() => brokerless.close())
  await brokerless.register(fastifyViews, { openapi: false })
  brokerless.get('/events', subscribeToEvents())
  await t.rejects(async () => { await brokerless.ready() }, { code: 'FVIEWS_ERR_BROKER_MISSING', message: /^Topic subscriptions \(GET \/events\) need a broker/ })

  // The plugin in a parent scope: the route in a child starts and delivers.
  const { app, broker: parentBroker } = await pluginApp(t, { openapi: false })
  await app.register(async (child) => { child.get('/events', subscribeToEvents()) })
  const base = await listen(app)
  const client = new SSEClient(`${base}/events?topic=a`, { types: ['subscribed', 'x'] })
  t.teardown(() => client.close())
  await client.waitFor(1)
  await parentBroker.publish('a', 'x', { n: 1 })
  const received = await client.waitFor(2)
  t.same(received.map((event) => [event.type, event.data]), [['subscribed', received[0].data], ['x', JSON.stringify({ n: 1 })]])
})
