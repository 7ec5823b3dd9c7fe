import t from 'tap'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { APIView, createApp, post, problemErrorHandler, publishEvent, ViewRouter } from '../../lib/index.js'
import type { Broker } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'
import { take } from '../broker/contract.js'

/** Subscribes to a topic and returns a function reading its next `count` events as [event, data]. */
async function recorder (t: { teardown: (fn: () => unknown) => void }, app: { broker: Broker }, topic: string) {
  const events = app.broker.subscribe([topic])
  t.teardown(() => events.return())
  await take(events, 1)
  return async (count: number) => (await take(events, count)).map((event) => [event.event, event.data])
}

t.test('publishEvent on a view method publishes the result after success, topic inferred from the route template', async (t) => {
  class Comments extends APIView({ params: Type.Object({ threadId: Type.Integer() }), post: { body: Type.Object({ text: Type.String() }), response: { 201: Type.Object({ id: Type.Integer(), text: Type.String() }) } } }) {
    @publishEvent()
    post () { return { id: 7, text: this.body.text } }

    @post('/flag', {}, {})
    @publishEvent({ topic: ({ params }) => `thread:${params.threadId}`, event: 'comment:flagged', extractData: (_r, { params }) => ({ threadId: params.threadId }) })
    flag () { return { ok: true } }
  }
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(Comments, { prefix: '/api/v1/threads/:threadId/comments' }).plugin)
  const base = await listen(app)
  const inferred = await recorder(t, app, 'threads.comments')
  const thread = await recorder(t, app, 'thread:5')
  t.equal((await http(base, 'POST', '/api/v1/threads/5/comments', { body: { text: 'hi' } })).status, 201)
  t.equal((await http(base, 'POST', '/api/v1/threads/5/comments/flag')).status, 200)
  t.same(await inferred(1), [['post', { id: 7, text: 'hi' }]])
  t.same(await thread(1), [['comment:flagged', { threadId: 5 }]])
})

t.test('the function form wraps a plain Fastify handler', async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  app.post('/tasks', publishEvent({ topic: 'tasks', event: 'task:created' })(async (request, reply) => {
    reply.code(201)
    return { id: 1, ...(request.body as object) }
  }))
  app.post('/fails', publishEvent({ topic: 'tasks' })(async (_request, reply) => reply.code(409).send({ nope: true })))
  const base = await listen(app)
  const seen = await recorder(t, app, 'tasks')
  t.equal((await http(base, 'POST', '/fails', { body: {} })).status, 409)
  t.equal((await http(base, 'POST', '/tasks', { body: { title: 'x' } })).status, 201)
  t.same(await seen(1), [['task:created', { id: 1, title: 'x' }]], 'the refused request published nothing')
})

t.test('a publish that fails turns the request into a 503 problem document', async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  app.post('/tasks', publishEvent({ topic: 'tasks', event: 'task:created' })(async () => ({ id: 1 })))
  const base = await listen(app)
  await app.broker.close()        // a closed broker refuses every publish
  const res = await http(base, 'POST', '/tasks', { body: {} })
  t.equal(res.status, 503)
  t.equal(res.headers['retry-after'], undefined, 'the change was applied: no invitation to repeat it')
  t.equal(res.json().code, 'FVIEWS_ERR_EVENT_NOT_PUBLISHED')
  t.equal(res.json().detail, "The change was applied, but its 'task:created' event could not be published: the event broker is unavailable. " +
    'Do not repeat the request; read the current state instead.')
})

t.test('a publishEvent route in an app without a broker is a 500 that names the library error, not its words', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.setErrorHandler(problemErrorHandler)
  app.post('/tasks', publishEvent({ topic: 'tasks', event: 'task:created' })(async () => ({ id: 1 })))
  const base = await listen(app)
  const res = await http(base, 'POST', '/tasks', { body: {} })
  t.equal(res.status, 500)
  t.same(res.json(), {
    type: 'about:blank',
    title: 'Internal Server Error',
    status: 500,
    detail: `An internal error occurred; it was logged with request id ${res.json().detail.split(' ').at(-1)}`,
    instance: '/tasks',
    code: 'FVIEWS_ERR_PUBLISH_BROKER_MISSING'
  })
})

t.test('what publishes follows the answer: a destroy that returns nothing is a 204 and publishes; a generic "not found" publishes nothing', async (t) => {
  const { DestroyView, RetrieveUpdateView } = await import('../../lib/index.js')
  const Item = Type.Object({ id: Type.Integer(), name: Type.String() })
  const names = new Map([[1, 'one'], [2, 'two']])
  class Items extends DestroyView({ model: Item, id: Type.Integer() }) {
    @publishEvent({ topic: 'items', event: 'item:deleted', extractData: (_result, { params }) => ({ id: params.id }) })
    destroy (id: number) {
      if (!names.has(id)) return false
      names.delete(id)
    }
  }
  class Editable extends RetrieveUpdateView({ model: Item, update: Type.Object({ name: Type.String() }), id: Type.Integer() }) {
    retrieve (id: number) { return names.has(id) ? { id, name: names.get(id)! } : undefined }
    @publishEvent({ topic: 'items', event: 'item:updated', extractData: (item) => ({ id: item.id }) })
    update (id: number, body: { name: string }) {
      if (!names.has(id)) return undefined
      names.set(id, body.name)
      return { id, name: body.name }
    }
  }
  class Ping extends APIView({ post: { response: { 204: Type.Null() } } }) {
    @publishEvent({ topic: 'items', event: 'pinged' })
    post () {}
  }
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(Items, { prefix: '/items' }).registerView(Editable, { prefix: '/editable' }).registerView(Ping, { prefix: '/ping' }).plugin)
  const base = await listen(app)
  const seen = await recorder(t, app, 'items')
  t.equal((await http(base, 'DELETE', '/items/9')).status, 404)
  t.equal((await http(base, 'PUT', '/editable/9', { body: { name: 'x' } })).status, 404)
  t.equal((await http(base, 'DELETE', '/items/1')).status, 204)
  t.equal((await http(base, 'PUT', '/editable/2', { body: { name: 'deux' } })).status, 200)
  t.equal((await http(base, 'POST', '/ping')).status, 204)
  t.same(await seen(3), [['item:deleted', { id: 1 }], ['item:updated', { id: 2 }], ['pinged', null]])
})
