/**
 * Misconfigurations found at startup, with the fix in the message (issue 12): a view registered after
 * its router was mounted (it used to be a silent 404), a topic subscription in an app without a broker
 * (it used to start, then answer 500 to every subscriber).
 */
import t from 'tap'
import Fastify from 'fastify'
import { APIView, configureApp, createApp, fastifyViews, MemoryBroker, subscribeToEvents, SubscriptionView, ViewRouter } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'

class Ping extends APIView({}) {
  async get () { return { pong: true } }
}
class Pong extends APIView({}) {
  async get () { return { ping: true } }
}

const SEALED = "View 'Pong' registered after router.plugin was mounted, so it would never be served: call registerView() before app.register(router.plugin), or use a new ViewRouter"

t.test('registerView after the router was mounted throws, naming the view and the fix', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  const router = new ViewRouter().registerView(Ping, { prefix: '/ping' })
  await app.register(router.plugin)
  t.throws(() => router.registerView(Pong, { prefix: '/pong' }), { code: 'FVIEWS_ERR_ROUTER_SEALED', message: SEALED })
  const base = await listen(app)
  t.same((await http(base, 'GET', '/ping')).json(), { pong: true }, 'the views registered before are served')
})

t.test('registerView between register() and the plugin loading is still in time', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  const router = new ViewRouter().registerView(Ping, { prefix: '/ping' })
  app.register(router.plugin)
  router.registerView(Pong, { prefix: '/pong' })
  const base = await listen(app)
  t.same((await http(base, 'GET', '/pong')).json(), { ping: true })
})

const MISSING = 'need a broker, and the app has none: build it with createApp(), register fastifyViews with { broker }, or decorate app.broker'

t.test('a SubscriptionView in an app without a broker stops startup', async (t) => {
  for (const setUp of ['plain', 'configureApp'] as const) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    if (setUp === 'configureApp') await configureApp(app)
    await app.register(new ViewRouter().registerView(SubscriptionView(), { prefix: '/events' }).plugin, { prefix: '/api' })
    await t.rejects(async () => { await app.ready() }, { code: 'FVIEWS_ERR_BROKER_MISSING', message: `Topic subscriptions (GET /api/events of view TopicSubscription) ${MISSING}` }, setUp)
  }
})

t.test('subscribeToEvents on a plain route in an app without a broker stops startup', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(fastifyViews)
  app.get('/events', subscribeToEvents())
  await t.rejects(async () => { await app.ready() }, { code: 'FVIEWS_ERR_BROKER_MISSING', message: `Topic subscriptions (GET /events) ${MISSING}` })
})

t.test('with a broker - createApp, the plugin option, or a decorator added after the router - it starts', async (t) => {
  const broker = new MemoryBroker()
  t.teardown(() => broker.close())
  const created = await createApp({ env: {}, fastify: { logger: false }, broker })
  t.teardown(() => created.close())
  await created.register(new ViewRouter().registerView(SubscriptionView(), { prefix: '/events' }).plugin)
  await t.resolves(async () => { await created.ready() })

  const plugin = Fastify({ logger: false })
  t.teardown(() => plugin.close())
  await plugin.register(fastifyViews, { broker })
  plugin.get('/events', subscribeToEvents())
  await t.resolves(async () => { await plugin.ready() })

  // A child scope with a broker of its own, under a plugin registered without one.
  const scoped = Fastify({ logger: false })
  t.teardown(() => scoped.close())
  await scoped.register(fastifyViews)
  await scoped.register(async (child) => {
    child.decorate('broker', broker)
    child.get('/events', subscribeToEvents())
  })
  scoped.get('/orphan', subscribeToEvents())
  await t.rejects(async () => { await scoped.ready() }, { code: 'FVIEWS_ERR_BROKER_MISSING', message: `Topic subscriptions (GET /orphan) ${MISSING}` }, 'only the route without a broker is named')

  const decorated = Fastify({ logger: false })
  t.teardown(() => decorated.close())
  await decorated.register(new ViewRouter().registerView(SubscriptionView(), { prefix: '/events' }).plugin)
  decorated.decorate('broker', broker)
  await t.resolves(async () => { await decorated.ready() })
})
