import t from 'tap'
import { Type } from '@sinclair/typebox'
import { ListCreateView, ListView, RetrieveView, ViewSet } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { http, listen } from '../helpers/http.js'
import { taskViewSet, Task } from '../helpers/task-viewset.js'

const JSON_TYPE = 'application/json; charset=utf-8'
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8'

t.test('a ModelViewSet serves the six operations with their HTTP semantics', async (t) => {
  const { Tasks } = taskViewSet()
  const app = await buildApp(t, (router) => { router.registerView(Tasks, { prefix: '/tasks' }) })
  const base = await listen(app)

  let res = await http(base, 'GET', '/tasks')
  t.same([res.status, res.headers['content-type'], res.json()], [200, JSON_TYPE, []])

  res = await http(base, 'POST', '/tasks', { body: { title: 'write tests' } })
  t.equal(res.status, 201)
  t.equal(res.headers.location, '/tasks/1')
  t.same(res.json(), { id: 1, title: 'write tests', done: false })

  res = await http(base, 'GET', '/tasks/1')
  t.same([res.status, res.json()], [200, { id: 1, title: 'write tests', done: false }])

  res = await http(base, 'PUT', '/tasks/1', { body: { title: 'renamed', done: false } })
  t.same([res.status, res.json()], [200, { id: 1, title: 'renamed', done: false }])

  res = await http(base, 'PATCH', '/tasks/1', { body: { done: true } })
  t.same([res.status, res.json()], [200, { id: 1, title: 'renamed', done: true }])

  res = await http(base, 'GET', '/tasks')
  t.same(res.json(), [{ id: 1, title: 'renamed', done: true }])

  res = await http(base, 'DELETE', '/tasks/1')
  t.same([res.status, res.text, res.headers['content-type'], res.headers['content-length']], [204, '', undefined, undefined])

  for (const [method, body] of [['GET', undefined], ['PUT', { title: 'x', done: true }], ['PATCH', { done: true }], ['DELETE', undefined]] as const) {
    res = await http(base, method, '/tasks/1', body === undefined ? {} : { body })
    t.equal(res.status, 404, `${method} of a missing task`)
    t.equal(res.headers['content-type'], PROBLEM_TYPE)
    t.same(res.json(), { type: 'about:blank', title: 'Not Found', status: 404, detail: "Task '1' not found", instance: '/tasks/1', code: 'FVIEWS_HTTP_NOT_FOUND' })
  }
})

t.test('the :id parameter is validated and coerced by its schema', async (t) => {
  const { Tasks } = taskViewSet()
  const app = await buildApp(t, (router) => { router.registerView(Tasks, { prefix: '/tasks' }) })
  const base = await listen(app)
  const res = await http(base, 'GET', '/tasks/abc')
  t.equal(res.status, 400)
  t.same(res.json(), {
    type: 'about:blank',
    title: 'Bad Request',
    status: 400,
    detail: 'params/id must be integer',
    instance: '/tasks/abc',
    code: 'FVIEWS_ERR_VALIDATION',
    errors: [{ path: '/params/id', message: 'must be integer', keyword: 'type' }]
  })
})

t.test('a detail action decorated with @post runs under /:id', async (t) => {
  const { Tasks } = taskViewSet()
  const app = await buildApp(t, (router) => { router.registerView(Tasks, { prefix: '/tasks' }) })
  const base = await listen(app)
  await http(base, 'POST', '/tasks', { body: { title: 'a' } })
  let res = await http(base, 'POST', '/tasks/1/complete')
  t.same([res.status, res.json()], [200, { id: 1, title: 'a', done: true }])
  res = await http(base, 'POST', '/tasks/7/complete')
  t.same([res.status, res.json().detail], [404, 'no such task'])
})

t.test('standalone generic views: ListView at the prefix, RetrieveView at /:id', async (t) => {
  const items = [{ id: 1, title: 'a', done: false }]
  class Items extends ListView({ model: Task }) {
    list () { return items }
  }
  class Item extends RetrieveView({ model: Task, id: Type.Integer() }) {
    retrieve (id: number) { return items.find((item) => item.id === id) }
  }
  const app = await buildApp(t, (router) => {
    router.registerView(Items, { prefix: '/items' }).registerView(Item, { prefix: '/items' })
  })
  const base = await listen(app)
  t.same((await http(base, 'GET', '/items')).json(), items)
  t.same((await http(base, 'GET', '/items/1')).json(), items[0])
  const res = await http(base, 'POST', '/items')
  t.equal(res.status, 405)
  t.equal(res.headers.allow, 'GET, HEAD')
})

t.test('a ViewSet serves only the operations it implements', async (t) => {
  class ReadOnly extends ViewSet({ model: Task }) {
    list () { return [] }
  }
  const app = await buildApp(t, (router) => { router.registerView(ReadOnly, { prefix: '/ro' }) })
  const base = await listen(app)
  t.equal((await http(base, 'GET', '/ro')).status, 200)
  t.equal((await http(base, 'GET', '/ro/1')).status, 404)
  t.equal((await http(base, 'POST', '/ro', { body: {} })).status, 405)
})

t.test('issue d09: a ListCreateView (no retrieve route) answers 201 without a Location that would be a 404', async (t) => {
  const Item = Type.Object({ id: Type.Integer(), title: Type.String() }, { $id: 'LocationlessItem' })
  class Items extends ListCreateView({ model: Item, create: Type.Object({ title: Type.String() }) }) {
    override list () { return [] }
    override create (body: { title: string }) { return { id: 1, title: body.title } }
  }
  const app = await buildApp(t, (router) => { router.registerView(Items, { prefix: '/items' }) })
  const base = await listen(app)
  const res = await http(base, 'POST', '/items', { body: { title: 'a' } })
  t.same([res.status, res.headers['content-type'], res.headers.location, res.json()], [201, JSON_TYPE, undefined, { id: 1, title: 'a' }])
})
