/**
 * issue 11 #16: JSON bodies are validated strictly - `{"title": 42}` is a 400, not a task titled "42" - while
 * params, querystring and headers keep Fastify's coercion (they arrive as text). Shared `$ref` schemas keep
 * working, and a user's own ajv options or validator compiler stay theirs.
 */
import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { configureApp, createApp } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

/** POST /tasks/:list?limit= with a typed body, params, querystring and headers; answers what it received, with its types. */
function mount (app: FastifyInstance): void {
  app.addSchema({ $id: 'Title', type: 'string', minLength: 1 })
  app.post('/tasks/:list', {
    schema: {
      params: Type.Object({ list: Type.Integer() }),
      querystring: Type.Object({ limit: Type.Optional(Type.Integer()) }),
      headers: Type.Object({ 'X-Priority': Type.Optional(Type.Integer()) }),
      body: Type.Object({ title: Type.Ref('Title'), count: Type.Optional(Type.Integer()), tags: Type.Optional(Type.Array(Type.String())) })
    }
  }, async (request) => {
    const { list } = request.params as { list: unknown }
    const { limit } = request.query as { limit?: unknown }
    const body = request.body as Record<string, unknown>
    return { list, limit, priority: request.headers['x-priority'], body, types: [typeof list, typeof limit, typeof request.headers['x-priority'], typeof body.title] }
  })
}

const refused = (path: string, message: string, keyword: string) => ({
  type: 'about:blank', title: 'Bad Request', status: 400, detail: `body${path.replace(/^\/body/, '')} ${message}`, instance: '/tasks/3', code: 'FVIEWS_ERR_VALIDATION', errors: [{ path, message, keyword }]
})

async function checkStrictBodies (t: Test, base: string): Promise<void> {
  let res = await http(base, 'POST', '/tasks/3', { body: { title: 42 } })
  t.equal(res.status, 400, 'a number in a string field')
  t.equal(res.headers['content-type'], PROBLEM)
  t.same(res.json(), refused('/body/title', 'must be string', 'type'))
  res = await http(base, 'POST', '/tasks/3', { body: { title: 'x', count: '5' } })
  t.same([res.status, res.json()], [400, refused('/body/count', 'must be integer', 'type')], 'a string in an integer field')
  res = await http(base, 'POST', '/tasks/3', { body: { title: 'x', tags: 'one' } })
  t.same([res.status, res.json()], [400, refused('/body/tags', 'must be array', 'type')], 'a scalar where an array is expected is not wrapped')
  res = await http(base, 'POST', '/tasks/3', { body: { title: '' } })
  t.same([res.status, res.json()], [400, refused('/body/title', 'must NOT have fewer than 1 characters', 'minLength')], 'the shared $ref schema is applied')
  res = await http(base, 'POST', '/tasks/3?limit=10', { body: { title: 'write', count: 2 }, headers: { 'x-priority': '4' } })
  t.equal(res.status, 200)
  t.same(res.json(), { list: 3, limit: 10, priority: 4, body: { title: 'write', count: 2 }, types: ['number', 'number', 'number', 'string'] },
    'path param, querystring and header are still coerced from text')
}

t.test('createApp: bodies are strict, the other parts coerced', async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  mount(app)
  await checkStrictBodies(t, await listen(app))
})

t.test("configureApp on the user's own Fastify: the same", async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await configureApp(app, { title: 'test' })
  mount(app)
  await checkStrictBodies(t, await listen(app))
})

t.test('routes in an encapsulated plugin get strict bodies too', async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  await app.register(async (child) => { mount(child) }, { prefix: '/v1' })
  const base = await listen(app)
  const res = await http(base, 'POST', '/v1/tasks/3', { body: { title: 42 } })
  t.same([res.status, res.json().errors], [400, [{ path: '/body/title', message: 'must be string', keyword: 'type' }]])
})

async function appWith (t: Test, fastify: FastifyServerOptions, viaCreateApp: boolean, setup?: (app: FastifyInstance) => void): Promise<string> {
  const app = viaCreateApp ? await createApp({ env: {}, fastify: { logger: false, ...fastify } }) : Fastify({ logger: false, ...fastify })
  t.teardown(() => app.close())
  if (!viaCreateApp) await configureApp(app, { title: 'test' })
  setup?.(app)
  mount(app)
  return await listen(app)
}

for (const viaCreateApp of [true, false]) {
  const how = viaCreateApp ? 'createApp' : 'configureApp'
  t.test(`${how}: a coercion the user chose in their ajv options stays theirs, for bodies too`, async (t) => {
    const base = await appWith(t, { ajv: { customOptions: { coerceTypes: true } } }, viaCreateApp)
    const res = await http(base, 'POST', '/tasks/3', { body: { title: 42 } })
    t.same([res.status, res.json().body], [200, { title: '42' }])
  })

  t.test(`${how}: other ajv options of the user are kept with strict bodies`, async (t) => {
    const base = await appWith(t, { ajv: { customOptions: { allErrors: true } } }, viaCreateApp)
    const res = await http(base, 'POST', '/tasks/3', { body: { title: 42, count: '5' } })
    t.same([res.status, res.json().errors], [400, [
      { path: '/body/title', message: 'must be string', keyword: 'type' },
      { path: '/body/count', message: 'must be integer', keyword: 'type' }
    ]])
  })

  t.test(`${how}: a validator compiler the user set stays theirs`, async (t) => {
    const seen: string[] = []
    const base = await appWith(t, {}, viaCreateApp, (app) => {
      app.setValidatorCompiler(({ httpPart }) => { seen.push(String(httpPart)); return () => true })
    })
    const res = await http(base, 'POST', '/tasks/3', { body: { title: 42 } })
    t.same([res.status, res.json().body], [200, { title: 42 }], 'their compiler accepted it')
    t.same(seen.sort(), ['body', 'headers', 'params', 'querystring'])
  })

  t.test(`${how}: a schemaController the user passed to Fastify stays theirs`, async (t) => {
    const parts: string[] = []
    const base = await appWith(t, {
      schemaController: { compilersFactory: { buildValidator: (() => ({ httpPart }: { httpPart?: string }) => { parts.push(String(httpPart)); return () => true }) as any } }
    }, viaCreateApp)
    const res = await http(base, 'POST', '/tasks/3', { body: { title: 42 } })
    t.same([res.status, res.json().body], [200, { title: 42 }])
    t.same(parts.sort(), ['body', 'headers', 'params', 'querystring'])
  })
}

t.test('a body schema declared per media type is strict for JSON and keeps coercion for a form, whose values are text', async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))))
  })
  const Order = Type.Object({ count: Type.Integer() })
  app.post('/orders', {
    schema: { body: { content: { 'application/json': { schema: Order }, 'application/x-www-form-urlencoded': { schema: Order } } } }
  }, async (request) => request.body)
  const base = await listen(app)
  let res = await http(base, 'POST', '/orders', { raw: 'count=5', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.same([res.status, res.json()], [200, { count: 5 }], 'the form value is coerced')
  res = await http(base, 'POST', '/orders', { raw: '{"count":"5"}', headers: { 'content-type': 'application/json' } })
  t.same([res.status, res.json().errors], [400, [{ path: '/body/count', message: 'must be integer', keyword: 'type' }]], 'JSON is strict')
})
