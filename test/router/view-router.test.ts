import t from 'tap'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import { APIView, configureApp, ListView, ModelViewSet, ViewRouter, VIEW_ROUTE_CONFIG } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'

const Item = Type.Object({ id: Type.String() })

t.test('registering something that is not a usable view fails at once, naming the view and the route', async (t) => {
  const router = new ViewRouter()
  class NotAView { get () { return 1 } }
  t.throws(() => router.registerView(NotAView, { prefix: '/x' }), {
    code: 'FVIEWS_ERR_VIEW_INVALID',
    message: "View 'NotAView' cannot be registered: it is not a view class: extend APIView(...), a generic view such as ModelViewSet(...), or ServerSideEventsView(...)"
  })
  class Empty extends APIView({}) {}
  t.throws(() => router.registerView(Empty), { code: 'FVIEWS_ERR_VIEW_NO_ROUTES', message: "View 'Empty' has no routes: implement a verb method (get, post, ...), an action or events()" })
  class Declared extends APIView({ get: { response: { 200: Item } } }) {}
  t.throws(() => router.registerView(Declared), { code: 'FVIEWS_ERR_VIEW_ABSTRACT', message: "View 'Declared' declares 'get' but does not implement it" })
  // @ts-expect-error -- a compile error too (abstract operations); this checks the startup error JavaScript users get
  class HalfModel extends ModelViewSet({ model: Item }) { list () { return [] } }
  t.throws(() => router.registerView(HalfModel), { code: 'FVIEWS_ERR_VIEW_ABSTRACT', message: "View 'HalfModel' declares 'create()' but does not implement it" })
  class A extends ListView({ model: Item }) { list () { return [] } }
  class B extends APIView({}) { get () { return [] } }
  router.registerView(A, { prefix: '/items' })
  t.throws(() => router.registerView(B, { prefix: '/items' }), { code: 'FVIEWS_ERR_ROUTE_CLASH', message: "View 'B': route GET /items is already registered by A.list" })
  class Other extends ListView({ model: Type.Object({ id: Type.Integer() }, { $id: 'Item' }) }) { list () { return [] } }
  class Same extends ListView({ model: Type.Object({ id: Type.String() }, { $id: 'Item' }) }) { list () { return [] } }
  const app = Fastify()
  t.teardown(() => app.close())
  const clash = new ViewRouter().registerView(Other, { prefix: '/o' }).registerView(Same, { prefix: '/s' })
  await t.rejects((async () => { await app.register(clash.plugin) })(), { code: 'FVIEWS_ERR_VIEW_INVALID', message: "View 'Same.list' cannot be registered: two different schemas share the $id 'Item'; give each its own $id" })
})

t.test('the router is an encapsulated plugin: the registering context\'s hooks apply, a sibling\'s do not', async (t) => {
  class Ping extends APIView({}) { get () { return { ok: true } } }
  const app = Fastify()
  t.teardown(() => app.close())
  await configureApp(app)
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization !== 'Bearer yes') return reply.code(401).send({ denied: true })
    })
    await scope.register(new ViewRouter({ prefix: '/v1' }).registerView(Ping, { prefix: '/secret' }).plugin, { prefix: '/api' })
  })
  await app.register(new ViewRouter().registerView(Ping, { prefix: '/public' }).plugin, { prefix: '/api' })
  const base = await listen(app)
  t.equal((await http(base, 'GET', '/api/v1/secret')).status, 401)
  t.equal((await http(base, 'GET', '/api/v1/secret', { headers: { authorization: 'Bearer yes' } })).status, 200)
  t.equal((await http(base, 'GET', '/api/public')).status, 200)
})

t.test('a mounted route keeps a reference to its view class', async (t) => {
  class Ping extends APIView({}) { get () { return { ok: true } } }
  const router = new ViewRouter().registerView(Ping, { prefix: '/ping', tags: ['health'] })
  t.same(router.routes().map(({ method, url, viewName, operation }) => ({ method, url, viewName, operation })),
    [{ method: 'GET', url: '/ping', viewName: 'Ping', operation: 'get' }])
  const app = Fastify()
  t.teardown(() => app.close())
  let seen: unknown
  app.addHook('onRoute', (route) => { if (route.url === '/ping' && route.method === 'GET') seen = (route.config as any)[VIEW_ROUTE_CONFIG].view })
  await app.register(router.plugin)
  await app.ready()
  t.equal(seen, Ping)
})
