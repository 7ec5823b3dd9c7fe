import t from 'tap'
import { readFile } from 'node:fs/promises'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Type } from '@sinclair/typebox'
import { APIView, get } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { documentOf, generateDocuments } from '../../scripts/openapi-documents.js'
import { taskViewSet } from '../helpers/task-viewset.js'

async function validate (document: object): Promise<{ valid: boolean, errors?: unknown }> {
  return new Validator().validate(structuredClone(document) as any)
}

function operations (document: any): Array<{ path: string, method: string, op: any }> {
  return Object.entries(document.paths).flatMap(([path, item]: [string, any]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op })))
}

t.test('the document of views is valid OpenAPI 3.1 with stable names', async (t) => {
  const { Tasks } = taskViewSet()
  class Status extends APIView({ get: { summary: 'Service status', deprecated: true, response: { 200: Type.Object({ up: Type.Boolean() }) } } }) {
    get () { return { up: true } }
    @get('/version', { operationId: 'serviceVersion', response: { 200: Type.String() } })
    version () { return '1' }
  }
  const app = await buildApp(t, (router) => { router.registerView(Tasks, { prefix: '/tasks' }).registerView(Status, { prefix: '/status', tags: ['ops'] }) })
  const document: any = await documentOf(app)
  const result = await validate(document)
  t.same(result, { valid: true }, 'an independent validator accepts it')
  t.equal(document.openapi, '3.1.0')
  t.same(Object.keys(document.components.schemas).sort(), ['ProblemDetails', 'Task', 'TaskCreate', 'TaskUpdate', 'ValidationIssue'])
  const ids = operations(document).map(({ op }) => op.operationId)
  t.same(ids.sort(), ['serviceVersion', 'statusGet', 'tasksComplete', 'tasksCreate', 'tasksDestroy', 'tasksList', 'tasksPartialUpdate', 'tasksRetrieve', 'tasksUpdate'])
  for (const { path, method, op } of operations(document)) {
    t.match(op.operationId, /^[A-Za-z][A-Za-z0-9_]*$/, `${method} ${path}: operationId`)
    t.same(op.responses['500'], {
      description: 'Internal error (details are logged with the request id, never sent)',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetails' } } }
    }, `${method} ${path}: 500 problem`)
  }
  const retrieve = document.paths['/tasks/{id}'].get
  t.same(Object.keys(retrieve.responses).sort(), ['200', '400', '404', '500'])
  t.same(retrieve.responses['404'].content, { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetails' } } })
  t.same(retrieve.parameters, [{ schema: { type: 'integer' }, in: 'path', name: 'id', required: true }])
  t.same(document.paths['/tasks/{id}'].delete.responses['204'], { description: 'Deleted' })
  t.same(document.paths['/tasks'].post.responses['201'].content, { 'application/json': { schema: { $ref: '#/components/schemas/Task' } } })
  t.same(document.paths['/tasks'].get.responses['200'], { description: 'The Task items', content: { 'application/json': { schema: { description: 'The Task items', type: 'array', items: { $ref: '#/components/schemas/Task' } } } } })
  const status = document.paths['/status'].get
  t.same([status.summary, status.deprecated, status.tags], ['Service status', true, ['ops']])
})

t.test('committed OpenAPI documents match the code and are valid', async (t) => {
  for (const { name, text, document } of await generateDocuments()) {
    const committed = await readFile(new URL(`../../openapi/${name}.json`, import.meta.url), 'utf8').catch(() => '')
    t.equal(committed, text, `openapi/${name}.json is current (regenerate with npm run openapi)`)
    t.same(await validate(document), { valid: true }, `openapi/${name}.json is valid`)
  }
})

t.test('security schemes and requirements, and extra error statuses on generic operations and subscriptions', async (t) => {
  const { ListView, SubscriptionView, createApp, ViewRouter } = await import('../../lib/index.js')
  const Item = Type.Object({ id: Type.Integer() }, { $id: 'SecuredItem' })
  class Items extends ListView({ model: Item, docs: { list: { errors: [401], security: [{ bearer: [] }] } } }) {
    list () { return [] }
  }
  const app = await createApp({
    env: {},
    fastify: { logger: false },
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    security: [{ bearer: [] }]
  })
  t.teardown(() => app.close())
  await app.register(new ViewRouter()
    .registerView(Items, { prefix: '/items' })
    .registerView(SubscriptionView({ authorize: () => true, errors: [401], security: [] }), { prefix: '/events', name: 'events' }).plugin)
  const document: any = await documentOf(app)
  t.same(await validate(document), { valid: true })
  t.same(document.components.securitySchemes, { bearer: { type: 'http', scheme: 'bearer' } })
  t.same(document.security, [{ bearer: [] }])
  t.same(Object.keys(document.paths['/items'].get.responses).sort(), ['200', '401', '500'])
  t.same(document.paths['/items'].get.security, [{ bearer: [] }])
  t.same(Object.keys(document.paths['/events'].get.responses).sort(), ['200', '400', '401', '403', '500', '503'])
  t.same(document.paths['/events'].get.security, [], 'an operation can opt out (EventSource cannot send the header)')
})
