import t from 'tap'
import { Type } from '@sinclair/typebox'
import { APIView, applyDecorators, get, route, TooManyRequestsError } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { http, listen } from '../helpers/http.js'

const Greeting = Type.Object({ message: Type.String() })

class Hello extends APIView({
  querystring: Type.Object({ name: Type.String() }),
  get: { summary: 'Greet', response: { 200: Greeting } },
  post: { body: Type.Object({ name: Type.String() }), response: { 201: Greeting } }
}) {
  async get () { return { message: `hello ${this.query.name}` } }
  async post () { return { message: `created ${this.body.name}` } }

  @get('/whoami', { response: { 200: Type.Object({ id: Type.String(), url: Type.String() }) } })
  async whoami () { return { id: String(this.request.id), url: this.request.url } }

  @route(['PUT', 'PATCH'], '/limited')
  async limited () { throw new TooManyRequestsError('slow down', { headers: { 'retry-after': '7' } }) }
}

t.test('verb methods become routes; the status defaults to the lowest 2xx declared', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(Hello, { prefix: '/hello' }) })
  const base = await listen(app)
  let res = await http(base, 'GET', '/hello?name=ada')
  t.same([res.status, res.json()], [200, { message: 'hello ada' }])
  res = await http(base, 'POST', '/hello?name=x', { body: { name: 'bob' } })
  t.same([res.status, res.json()], [201, { message: 'created bob' }])
  res = await http(base, 'GET', '/hello/whoami?name=x', { headers: { 'x-request-id': 'r1' } })
  t.equal(res.status, 200)
  t.equal(res.json().url, '/hello/whoami?name=x')
})

t.test('a thrown HttpError keeps its status, headers and detail', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(Hello, { prefix: '/hello' }) })
  const base = await listen(app)
  for (const method of ['PUT', 'PATCH']) {
    const res = await http(base, method, '/hello/limited?name=x')
    t.equal(res.status, 429)
    t.equal(res.headers['retry-after'], '7')
    t.same(res.json(), { type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'slow down', instance: '/hello/limited', code: 'FVIEWS_HTTP_TOO_MANY_REQUESTS' })
  }
})

t.test('the handler reaches request and reply through this, and may answer itself', async (t) => {
  class Custom extends APIView({ get: {} }) {
    async get () {
      this.reply.header('x-view', 'custom').code(202)
      return { accepted: true }
    }
  }
  class Raw extends APIView({}) {
    async delete () { return this.reply.code(204).send() }
  }
  const app = await buildApp(t, (router) => { router.registerView(Custom, { prefix: '/c' }).registerView(Raw, { prefix: '/r' }) })
  const base = await listen(app)
  let res = await http(base, 'GET', '/c')
  t.same([res.status, res.headers['x-view'], res.json()], [202, 'custom', { accepted: true }])
  res = await http(base, 'DELETE', '/r')
  t.same([res.status, res.text], [204, ''])
})

t.test('applyDecorators offers the actions without decorator syntax', async (t) => {
  class Plain extends APIView({}) {
    ping () { return { pong: true } }
  }
  applyDecorators(Plain, { ping: [get('/ping', { response: { 200: Type.Object({ pong: Type.Boolean() }) } })] })
  const app = await buildApp(t, (router) => { router.registerView(Plain, { prefix: '/plain' }) })
  const base = await listen(app)
  const res = await http(base, 'GET', '/plain/ping')
  t.same([res.status, res.json()], [200, { pong: true }])
  t.throws(() => applyDecorators(Plain, { missing: [] }), { code: 'FVIEWS_ERR_DECORATOR_INVALID', message: "applyDecorators: 'missing' is not a method of Plain" })
})
