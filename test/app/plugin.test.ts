/**
 * `await app.register(fastifyViews, options)`: a fastify-plugin with its name and Fastify range, options
 * checked once at registration with errors that name the option and the fix, and the same behaviour
 * through configureApp and createApp.
 */
import t from 'tap'
import Fastify from 'fastify'
import fastifyViewsDefault, { APIView, configureApp, createApp, fastifyViews, MemoryBroker, NotFoundError, ViewRouter } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'
import type { TestContext } from '../helpers/context.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

class Ping extends APIView({}) {
  async get () { return { pong: true } }
}

function quietApp (t: TestContext) {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  return app
}

t.test('the plugin carries its name and Fastify range, and is the default export', async (t) => {
  t.equal(fastifyViewsDefault, fastifyViews)
  t.same((fastifyViews as any)[Symbol.for('plugin-meta')], { fastify: '5.x', name: 'fastify-views' })
  t.equal((fastifyViews as any)[Symbol.for('skip-override')], true, 'it decorates the scope it is registered in')
  const app = quietApp(t)
  await app.register(fastifyViews, { title: 'Plugin' })
  t.equal(app.hasPlugin('fastify-views'), true)
})

t.test('registered with register(), it serves problem documents and the OpenAPI document', async (t) => {
  const app = quietApp(t)
  await app.register(fastifyViews, { title: 'Plugin', version: '2.0.0' })
  app.get('/thing', async () => { throw new NotFoundError('No thing 7') })
  await app.register(new ViewRouter().registerView(Ping, { prefix: '/ping' }).plugin)
  const base = await listen(app)

  let res = await http(base, 'GET', '/thing')
  t.same([res.status, res.headers['content-type'], res.json()],
    [404, PROBLEM, { type: 'about:blank', title: 'Not Found', status: 404, detail: 'No thing 7', instance: '/thing', code: 'FVIEWS_HTTP_NOT_FOUND' }])
  res = await http(base, 'POST', '/ping')
  t.same([res.status, res.headers.allow, res.json().code], [405, 'GET, HEAD', 'FVIEWS_ERR_METHOD_NOT_ALLOWED'])
  res = await http(base, 'GET', '/nowhere')
  t.same([res.status, res.headers['content-type'], res.json()],
    [404, PROBLEM, { type: 'about:blank', title: 'Not Found', status: 404, detail: 'No route GET /nowhere', instance: '/nowhere', code: 'FVIEWS_ERR_ROUTE_NOT_FOUND' }])
  res = await http(base, 'GET', '/docs/json')
  t.equal(res.status, 200)
  t.same(res.json().info, { title: 'Plugin', version: '2.0.0' })
  t.ok(res.json().paths['/ping'].get, 'the view is documented')
})

t.test('unknown and ill-typed options stop registration with the option named and the fix', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ title: 42 }, "Invalid setting 'title': expected a string, the title of the OpenAPI document, got 42"],
    [{ nonsense: true }, "Invalid setting 'nonsense': fastify-views has no such option; known options: title, version, description, servers, docsPath, openapiVersion, license, securitySchemes, security, openapi, cors, errorHandler, notFound, heartbeatSeconds, heartbeat, drainMs, broker, maxConnections, authorize, ssePath"],
    [{ docPath: '/x' }, "Invalid setting 'docPath': fastify-views has no such option (did you mean 'docsPath'?); known options: title, version, description, servers, docsPath, openapiVersion, license, securitySchemes, security, openapi, cors, errorHandler, notFound, heartbeatSeconds, heartbeat, drainMs, broker, maxConnections, authorize, ssePath"],
    [{ docsPath: 'docs' }, "Invalid setting 'docsPath': expected a path starting with '/' (default '/docs'), or false for no Swagger UI, got 'docs'"],
    [{ cors: 'yes' }, "Invalid setting 'cors': expected true (any origin), false, or @fastify/cors options, got 'yes'"],
    [{ heartbeatSeconds: -1 }, "Invalid setting 'heartbeatSeconds': expected a number of seconds from 0 (off) to 3600, got -1"],
    [{ heartbeat: 'ping' }, "Invalid setting 'heartbeat': expected 'comment' (default) or 'event' (an `event: heartbeat` frame), got 'ping'"],
    [{ drainMs: 1.5 }, "Invalid setting 'drainMs': expected an integer of milliseconds from 0 to 60000, got 1.5"],
    [{ errorHandler: 'mine' }, "Invalid setting 'errorHandler': expected true or false (false keeps Fastify's or your own error handler), got 'mine'"],
    [{ broker: {} }, "Invalid setting 'broker': expected a Broker, e.g. new MemoryBroker() or createBroker({ redisUrl }), got an object"],
    [{ authorize: true }, "Invalid setting 'authorize': expected a function (request, topic) => boolean | Promise<boolean>, got true"],
    [{ servers: ['https://x'] }, "Invalid setting 'servers': expected an array of { url, description? }, e.g. [{ url: 'https://api.example.com' }], got an array"],
    [{ authorize: () => true }, "Invalid setting 'authorize': it applies to topic subscriptions, which need a broker: pass `broker` too (e.g. new MemoryBroker()), or use createApp()"]
  ]
  for (const [options, message] of cases) {
    const app = quietApp(t)
    await t.rejects(async () => { await app.register(fastifyViews, options as any) }, { code: 'FVIEWS_ERR_OPTION_INVALID', message }, message)
  }
  // Fastify's own register options are Fastify's; an option spelled out as undefined is the default.
  const app = quietApp(t)
  await t.resolves(async () => { await app.register(fastifyViews, { prefix: '/ignored', logLevel: 'warn', title: undefined } as any) })
})

t.test('configureApp and createApp check the same way', async (t) => {
  await t.rejects(configureApp(quietApp(t), { title: 42 } as any), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'title': expected a string, the title of the OpenAPI document, got 42" })
  await t.rejects(createApp({ env: {}, nonsense: true } as any), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'nonsense': fastify-views has no such option; known options: title, version, description, servers, docsPath, openapiVersion, license, securitySchemes, security, openapi, errorHandler, notFound, heartbeatSeconds, heartbeat, drainMs, broker, maxConnections, authorize, ssePath, fastify, topics, healthPath, metricsPath, metricsRegistry, historySize, historyBytes, historyWindowSeconds, historyTtlSeconds, publishTimeoutMs, probeIntervalMs, env, redisUrl, redisCluster, redis, topicPrefix, corsOrigins" })
  await t.rejects(createApp({ env: {}, helthPath: '/h' } as any), { code: 'FVIEWS_ERR_OPTION_INVALID', message: /^Invalid setting 'helthPath': fastify-views has no such option \(did you mean 'healthPath'\?\)/ })
  await t.rejects(createApp({ env: {}, cors: true } as any), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'cors': createApp takes corsOrigins (true, '*', or a list of origins) or CORS_ORIGINS; `cors` is the option of the fastifyViews plugin" })
  // d12: Fastify's server options must be an object; a number option shows as a number, as register() shows it.
  await t.rejects(createApp({ env: {}, fastify: 5 } as any), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'fastify': expected an object of Fastify server options, e.g. { logger: true }, got 5" })
  await t.rejects(createApp({ env: {}, fastify: 'quiet' } as any), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'fastify': expected an object of Fastify server options, e.g. { logger: true }, got 'quiet'" })
  await t.rejects(createApp({ env: {}, heartbeatSeconds: -1 }), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'heartbeatSeconds': expected a number of seconds from 0 (off) to 3600, got -1" })
  await t.rejects(createApp({ env: {}, maxConnections: 0 }), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'maxConnections': expected an integer from 1 to 10000000, got 0" })
  const app = await createApp({ env: {}, fastify: { logger: false }, healthPath: '/up', title: 'Created' })
  t.teardown(() => app.close())
  const base = await listen(app)
  t.equal((await http(base, 'GET', '/up')).json().status, 'ok')
  t.same((await http(base, 'GET', '/docs/json')).json().info.title, 'Created')
})

t.test('with a broker, the plugin decorates it, connects it on start and leaves closing it to its owner', async (t) => {
  const broker = new MemoryBroker()
  t.teardown(() => broker.close())
  const app = quietApp(t)
  await app.register(fastifyViews, { broker })
  t.equal(app.broker, broker)
  t.equal(app.topicMetrics.openConnections, 0)
  await app.ready()
  await app.close()
  // Still usable: the app did not close what it did not create.
  t.same((await broker.publish('a', 'e', 1)).topic, 'a')

  const other = quietApp(t)
  other.decorate('broker', new MemoryBroker())
  await t.rejects(async () => { await other.register(fastifyViews, { broker }) }, {
    code: 'FVIEWS_ERR_OPTION_INVALID',
    message: "Invalid setting 'broker': the app already decorates a different app.broker; pass that one, or leave broker unset"
  })
})

t.test('issue d13: a second registration in the same scope with other options stops startup naming them; the same options stay a no-op', async (t) => {
  const authorize = () => true
  const broker = new MemoryBroker()
  t.teardown(() => broker.close())
  const app = quietApp(t)
  await app.register(fastifyViews, { title: 'shared bootstrap', authorize, broker })
  await t.rejects(async () => { await app.register(fastifyViews, { title: 'shared bootstrap', broker: new MemoryBroker(), authorize: () => true, ssePath: '/sse' }) }, {
    code: 'FVIEWS_ERR_OPTION_INVALID',
    message: "Invalid setting 'broker, authorize, ssePath': fastify-views is already registered in this scope with other options, and a second registration " +
      'there changes nothing, so these would be dropped: register the plugin once with all its options, or register the second one inside a child scope ' +
      '(app.register(async (child) => { await child.register(fastifyViews, options) }))'
  })

  // The same options (same broker, same function), a subset, none: nothing is dropped, so nothing changes.
  const same = quietApp(t)
  await same.register(fastifyViews, { title: 'shared bootstrap', authorize, broker, ssePath: '/sse' })
  await same.register(fastifyViews, { title: 'shared bootstrap', authorize, broker, ssePath: '/sse' })
  await same.register(fastifyViews, { ssePath: '/sse' })
  await same.register(fastifyViews)
  same.get('/ping', async () => ({ pong: true }))
  const base = await listen(same)
  t.same((await http(base, 'GET', '/ping')).json(), { pong: true })
  const missing = await http(base, 'GET', '/nowhere')
  t.same([missing.status, missing.headers['content-type'], missing.json().code], [404, PROBLEM, 'FVIEWS_ERR_ROUTE_NOT_FOUND'])
})
