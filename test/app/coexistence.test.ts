/**
 * fastify-views drops into a service that already has @fastify/swagger, @fastify/swagger-ui,
 * @fastify/cors, its own error handler and its own not-found handler: one register, and all of it keeps
 * working (issue 12). Each part can also be turned off. Everything over real HTTP.
 */
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import cors from '@fastify/cors'
import { APIView, configureApp, fastifyViews, MemoryBroker, NotFoundError, openapiRefResolver, subscribeToEvents, ViewRouter } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'
import type { TestContext } from '../helpers/context.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

class Ping extends APIView({}) {
  async get () { return { pong: true } }
}

/** Fastify's process warnings (FSTWRN004: an error handler overridden in the same scope) seen during a test. */
function watchWarnings (t: TestContext): string[] {
  const seen: string[] = []
  const listener = (warning: Error & { code?: string }) => { seen.push(warning.code ?? warning.name) }
  process.on('warning', listener)
  t.teardown(() => { process.off('warning', listener) })
  return seen
}

function quietApp (t: TestContext): FastifyInstance {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  return app
}

const failing = async () => { throw new NotFoundError('No thing 7') }

t.test('a service with swagger, swagger-ui, cors, its own error and not-found handlers keeps all of them', async (t) => {
  const warnings = watchWarnings(t)
  const app = quietApp(t)
  // Registered without awaiting, in order: Fastify loads them one after the other.
  app.register(swagger, { openapi: { info: { title: 'Existing service', version: '7.0.0' } } })
  app.register(swaggerUi, { routePrefix: '/documentation' })
  app.register(cors, { origin: 'https://app.example' })
  app.setErrorHandler(async (error: Error, _request, reply) => reply.code(418).send({ mine: true, message: error.message }))
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ mine: 'not found' }))
  app.register(fastifyViews, { title: 'ignored: the service has its own document', cors: true })
  app.get('/thing', failing)
  app.register(new ViewRouter().registerView(Ping, { prefix: '/ping' }).plugin)
  const base = await listen(app)

  t.same((await http(base, 'GET', '/ping')).json(), { pong: true })
  let res = await http(base, 'GET', '/thing')
  t.same([res.status, res.json()], [418, { mine: true, message: 'No thing 7' }], "the service's error handler answers")
  res = await http(base, 'GET', '/nowhere')
  t.same([res.status, res.json()], [404, { mine: 'not found' }], "the service's not-found handler answers")
  res = await http(base, 'GET', '/documentation/json')
  t.equal(res.status, 200)
  t.same(res.json().info, { title: 'Existing service', version: '7.0.0' }, "the service's own OpenAPI document")
  t.ok(res.json().paths['/ping'].get, 'documents the views too')
  t.equal((await http(base, 'GET', '/documentation/static/swagger-ui.css')).status, 200, "the service's Swagger UI")
  t.equal((await http(base, 'GET', '/docs/json')).status, 404, 'no second document')
  res = await http(base, 'GET', '/ping', { headers: { origin: 'https://elsewhere.example' } })
  t.equal(res.headers['access-control-allow-origin'], 'https://app.example', "the service's CORS settings, not cors: true")
  t.same(warnings, [], 'no FSTWRN004: nothing overrode the error handler')
})

t.test('registered again in the same scope with the same or no options, the plugin changes nothing (configureApp twice used to throw)', async (t) => {
  const warnings = watchWarnings(t)
  const app = quietApp(t)
  await configureApp(app, { title: 'First' })
  await configureApp(app, { title: 'First' })
  // Other options would be dropped: that is a startup error (test/app/plugin.test.ts, issue d13).
  const other = quietApp(t)
  await configureApp(other, { title: 'First' })
  await t.rejects(configureApp(other, { title: 'Second' }), { code: 'FVIEWS_ERR_OPTION_INVALID', message: /^Invalid setting 'title': fastify-views is already registered in this scope with other options/ })
  await app.register(fastifyViews)
  app.get('/thing', failing)
  const base = await listen(app)
  t.same((await http(base, 'GET', '/thing')).json().code, 'FVIEWS_HTTP_NOT_FOUND')
  t.same((await http(base, 'GET', '/nowhere')).json().code, 'FVIEWS_ERR_ROUTE_NOT_FOUND')
  t.same((await http(base, 'GET', '/docs/json')).json().info.title, 'First')
  t.same(warnings, [])
})

t.test('registered after the routes, the plugin starts (it used to fail on the ValidationIssue schema)', async (t) => {
  const app = quietApp(t)
  await app.register(new ViewRouter().registerView(Ping, { prefix: '/ping' }).plugin)
  await app.register(fastifyViews)
  app.get('/thing', failing)
  const base = await listen(app)
  t.same((await http(base, 'GET', '/ping')).json(), { pong: true })
  const res = await http(base, 'GET', '/thing')
  t.same([res.status, res.headers['content-type'], res.json().code], [404, PROBLEM, 'FVIEWS_HTTP_NOT_FOUND'], 'routes added after it get problem documents')
})

t.test('each part can be turned off: openapi, errorHandler, notFound, cors', async (t) => {
  const app = quietApp(t)
  await app.register(fastifyViews, { openapi: false, errorHandler: false, notFound: false, cors: false, broker: new MemoryBroker() })
  app.get('/thing', failing)
  // Its error responses reference the problem schema, which is there without OpenAPI too.
  app.get('/events', subscribeToEvents())
  const base = await listen(app)
  t.equal(app.hasDecorator('swagger'), false, 'no @fastify/swagger')
  let res = await http(base, 'GET', '/thing')
  t.same([res.status, res.headers['content-type'], res.json()],
    [404, 'application/json; charset=utf-8', { statusCode: 404, code: 'FVIEWS_HTTP_NOT_FOUND', error: 'Not Found', message: 'No thing 7' }], "Fastify's own error handler")
  res = await http(base, 'GET', '/docs/json')
  t.same([res.status, res.json()], [404, { message: 'Route GET:/docs/json not found', error: 'Not Found', statusCode: 404 }], "Fastify's own not-found handler, and no docs")
  res = await http(base, 'GET', '/thing', { headers: { origin: 'https://elsewhere.example' } })
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal((await http(base, 'GET', '/events')).status, 400, 'a subscription without a topic: 400')
  await app.broker.close()
})

t.test('errorHandler: true puts problem documents in a scope whose parent has its own handler', async (t) => {
  const warnings = watchWarnings(t)
  const app = quietApp(t)
  app.setErrorHandler(async (_error, _request, reply) => reply.code(418).send({ mine: true }))
  app.get('/outside', failing)
  await app.register(async (api) => {
    await api.register(fastifyViews, { errorHandler: true, openapi: false })
    api.get('/inside', failing)
  }, { prefix: '/api' })
  await app.register(async (other) => {
    // Without the option, a scope that inherits the app's handler keeps it.
    await other.register(fastifyViews, { openapi: false, notFound: false })
    other.get('/inherited', failing)
  }, { prefix: '/other' })
  const base = await listen(app)
  t.same((await http(base, 'GET', '/outside')).json(), { mine: true })
  t.same((await http(base, 'GET', '/other/inherited')).json(), { mine: true })
  const res = await http(base, 'GET', '/api/inside')
  t.same([res.status, res.headers['content-type'], res.json().code], [404, PROBLEM, 'FVIEWS_HTTP_NOT_FOUND'])
  t.same(warnings, [])
})

t.test('registered at the root and again in a prefixed child scope, each scope gets its own parts', async (t) => {
  const app = quietApp(t)
  await app.register(fastifyViews, { title: 'Root' })
  await app.register(async (api) => {
    await api.register(fastifyViews, { errorHandler: true })
    api.get('/inside', failing)
  }, { prefix: '/api' })
  const base = await listen(app)
  t.same((await http(base, 'GET', '/api/inside')).json().code, 'FVIEWS_HTTP_NOT_FOUND')
  const missing = await http(base, 'GET', '/api/nowhere')
  t.same([missing.status, missing.json().code], [404, 'FVIEWS_ERR_ROUTE_NOT_FOUND'])
  t.same((await http(base, 'GET', '/docs/json')).json().info.title, 'Root', 'one document, the root one')
})

t.test('notFound: true where a not-found handler is already set stops startup with the fix', async (t) => {
  const app = quietApp(t)
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ mine: 'not found' }))
  await t.rejects(async () => { await app.register(fastifyViews, { notFound: true }) }, {
    code: 'FVIEWS_ERR_OPTION_INVALID',
    message: "Invalid setting 'notFound': true, but this scope already has a not-found handler (Not found handler already set for Fastify instance with prefix: '/'); leave notFound unset to keep yours, or remove yours"
  })
})

t.test('issue d07: the app\'s own @fastify/swagger with openapiRefResolver names components after their $id', async (t) => {
  const app = quietApp(t)
  await app.register(swagger, { openapi: { info: { title: 'Mine', version: '1' } }, refResolver: openapiRefResolver })
  await app.register(fastifyViews)
  await app.register(new ViewRouter().registerView(Ping, { prefix: '/ping' }).plugin)
  app.get('/doc', async () => app.swagger())
  const base = await listen(app)
  const res = await http(base, 'GET', '/doc')
  t.same([res.status, Object.keys(res.json().components.schemas).sort()], [200, ['ProblemDetails', 'ValidationIssue']])
})

t.test('the app\'s own @fastify/swagger and Swagger UI registered AFTER the plugin: no decorator clash; its document is the app\'s, at both UIs', async (t) => {
  const app = quietApp(t)
  await app.register(fastifyViews, { title: 'the plugin\'s' })
  await app.register(swagger, { openapi: { info: { title: 'Mine, after', version: '2.0.0' } }, refResolver: openapiRefResolver })
  await app.register(swaggerUi, { routePrefix: '/documentation' })
  await app.register(new ViewRouter().registerView(Ping, { prefix: '/ping' }).plugin)
  const base = await listen(app)
  t.same((await http(base, 'GET', '/ping')).json(), { pong: true })
  const mine = app.swagger() as unknown as { info: unknown, paths: Record<string, unknown> }
  t.same(mine.info, { title: 'Mine, after', version: '2.0.0' }, 'app.swagger() is the app\'s own')
  t.ok(mine.paths['/ping'], 'documenting the views')
  for (const path of ['/docs/json', '/documentation/json']) {
    const res = await http(base, 'GET', path)
    t.same([res.status, res.json().info], [200, { title: 'Mine, after', version: '2.0.0' }], `${path}: the app's document`)
  }
  t.equal((await http(base, 'GET', '/docs')).status < 400, true, 'the plugin\'s Swagger UI still answers')
})

t.test('without an own @fastify/swagger, app.swagger() is the plugin\'s document once the app is ready', async (t) => {
  const app = quietApp(t)
  await app.register(fastifyViews, { title: 'the plugin\'s' })
  await app.register(new ViewRouter().registerView(Ping, { prefix: '/ping' }).plugin)
  await app.ready()
  const document = app.swagger() as unknown as { info: { title: string }, paths: Record<string, unknown> }
  t.same([document.info.title, Object.keys(document.paths)], ['the plugin\'s', ['/ping']])
  const base = await listen(app)
  t.same((await http(base, 'GET', '/docs/json')).json(), JSON.parse(JSON.stringify(document)), '/docs/json serves the same document')
})

t.test('the app\'s own @fastify/cors registered after the plugin (whose cors is off by default) works', async (t) => {
  const app = quietApp(t)
  await app.register(fastifyViews)
  await app.register(cors, { origin: 'https://app.example' })
  await app.register(new ViewRouter().registerView(Ping, { prefix: '/ping' }).plugin)
  const base = await listen(app)
  const res = await http(base, 'GET', '/ping', { headers: { origin: 'https://app.example' } })
  t.same([res.status, res.headers['access-control-allow-origin']], [200, 'https://app.example'])
  const preflight = await http(base, 'OPTIONS', '/ping', { headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } })
  t.same([preflight.status, preflight.headers['access-control-allow-origin']], [204, 'https://app.example'])
})
