/**
 * The quickstart as a user meets it: the task API over real HTTP, and its events read by a real
 * EventSource client - in order, exactly once, across two instances sharing Redis, and across restarts.
 */
import t from 'tap'
import { build, TaskStore, type QuickstartOptions } from '../../examples/quickstart/app.js'
import type { TestContext } from '../helpers/context.js'
import { http } from '../helpers/http.js'
import { startRedis } from '../helpers/redis-server.js'
import type { SSEClient } from '../helpers/sse-client.js'
import { firstEvents, start, summary, sseClient, type Running } from '../helpers/example-app.js'
import { sleep, within } from '../helpers/wait.js'

const PROBLEM = 'application/problem+json; charset=utf-8'
const JSON_TYPE = 'application/json; charset=utf-8'
const TYPES = ['subscribed', 'reset', 'task:created', 'task:updated', 'task:deleted']
const quiet: QuickstartOptions = { env: {}, drainMs: 0, fastify: { logger: false } }

async function quickstart (t: TestContext, options: QuickstartOptions = {}, port = 0): Promise<Running> {
  const running = await start(build, { ...quiet, ...options }, port)
  t.teardown(() => running.app.close())
  return running
}

function client (t: TestContext, url: string): SSEClient {
  return sseClient(t, url, { types: TYPES })
}

t.test('the task API: exact statuses and bodies', async (t) => {
  const { base } = await quickstart(t)

  let res = await http(base, 'POST', '/tasks', { body: { title: 'write the docs' } })
  t.same([res.status, res.headers['content-type'], res.headers.location, res.json()],
    [201, JSON_TYPE, '/tasks/1', { id: 1, title: 'write the docs', done: false }])
  res = await http(base, 'POST', '/tasks', { body: { title: '' } })
  t.same([res.status, res.headers['content-type'], res.json()], [400, PROBLEM, {
    type: 'about:blank',
    title: 'Bad Request',
    status: 400,
    detail: 'body/title must NOT have fewer than 1 characters',
    instance: '/tasks',
    code: 'FVIEWS_ERR_VALIDATION',
    errors: [{ path: '/body/title', message: 'must NOT have fewer than 1 characters', keyword: 'minLength' }]
  }])
  t.same((await http(base, 'POST', '/tasks', { body: { title: 'ship it' } })).json(), { id: 2, title: 'ship it', done: false })

  res = await http(base, 'GET', '/tasks')
  t.same([res.status, res.json()], [200, [{ id: 1, title: 'write the docs', done: false }, { id: 2, title: 'ship it', done: false }]])
  t.same((await http(base, 'GET', '/tasks/2')).json(), { id: 2, title: 'ship it', done: false })
  res = await http(base, 'PATCH', '/tasks/1', { body: { done: true } })
  t.same([res.status, res.json()], [200, { id: 1, title: 'write the docs', done: true }])
  res = await http(base, 'PUT', '/tasks/2', { body: { title: 'ship it today', done: false } })
  t.same([res.status, res.json()], [200, { id: 2, title: 'ship it today', done: false }])
  res = await http(base, 'DELETE', '/tasks/1')
  t.same([res.status, res.text], [204, ''])

  res = await http(base, 'GET', '/tasks/1')
  t.same([res.status, res.headers['content-type'], res.json()], [404, PROBLEM, {
    type: 'about:blank', title: 'Not Found', status: 404, detail: "Task '1' not found", instance: '/tasks/1', code: 'FVIEWS_HTTP_NOT_FOUND'
  }])
  t.equal((await http(base, 'DELETE', '/tasks/1')).status, 404)
  t.equal((await http(base, 'PATCH', '/tasks/1', { body: { done: false } })).status, 404)
  t.equal((await http(base, 'GET', '/tasks/abc')).status, 400)
  t.same((await http(base, 'GET', '/tasks')).json(), [{ id: 2, title: 'ship it today', done: false }])

  res = await http(base, 'GET', '/')
  t.same([res.status, res.headers['content-type']], [200, 'text/html; charset=utf-8'])
  t.match(res.text, '<script type="module" src="/app.js"></script>')
  res = await http(base, 'GET', '/app.js')
  t.same([res.status, res.headers['content-type']], [200, 'text/javascript; charset=utf-8'])
  t.match(res.text, "import { subscribe } from '/client.js'")
  res = await http(base, 'GET', '/client.js')
  t.same([res.status, res.headers['content-type']], [200, 'text/javascript; charset=utf-8'])
  t.match(res.text, /export \{[^}]*\bsubscribe\b/, 'the page gets fastify-views/client as one ES module')
  res = await http(base, 'GET', '/health')
  t.same([res.status, res.json()], [200, { status: 'ok', broker: { ok: true, backend: 'memory', detail: 'in-process' }, openStreams: 0, openConnections: 0 }])
  res = await http(base, 'GET', '/events')
  t.same([res.status, res.headers['content-type'], res.json().detail], [400, PROBLEM, 'No topic: subscribe with ?topic=name (several: ?topic=a,b)'])
})

t.test('every change reaches subscribers of `tasks` and of `task:<id>`, in order, exactly once', async (t) => {
  const { base } = await quickstart(t)
  const all = client(t, `${base}/events?topic=tasks`)
  const one = client(t, `${base}/events?topic=task:1`)
  t.same(await firstEvents(all, 1), [['subscribed', { topics: ['tasks'] }]])
  t.same(await firstEvents(one, 1), [['subscribed', { topics: ['task:1'] }]])

  t.equal((await http(base, 'POST', '/tasks', { body: { title: 'first' } })).status, 201)
  t.equal((await http(base, 'PATCH', '/tasks/1', { body: { done: true } })).status, 200)
  t.equal((await http(base, 'POST', '/tasks', { body: { title: 'second' } })).status, 201)
  t.equal((await http(base, 'DELETE', '/tasks/1')).status, 204)
  // Refused changes announce nothing.
  t.equal((await http(base, 'DELETE', '/tasks/1')).status, 404)
  t.equal((await http(base, 'PATCH', '/tasks/1', { body: { done: false } })).status, 404)
  t.equal((await http(base, 'POST', '/tasks', { body: { title: '' } })).status, 400)
  t.equal((await http(base, 'DELETE', '/tasks/2')).status, 204)

  t.same(await firstEvents(all, 6), [
    ['subscribed', { topics: ['tasks'] }],
    ['task:created', { id: 1 }],
    ['task:updated', { id: 1 }],
    ['task:created', { id: 2 }],
    ['task:deleted', { id: 1 }],
    ['task:deleted', { id: 2 }]
  ])
  t.same(await firstEvents(one, 4), [
    ['subscribed', { topics: ['task:1'] }],
    ['task:created', { id: 1 }],
    ['task:updated', { id: 1 }],
    ['task:deleted', { id: 1 }]
  ])
  // Nothing more arrives: a last change on `tasks` is the sentinel.
  t.equal((await http(base, 'POST', '/tasks', { body: { title: 'sentinel' } })).status, 201)
  await firstEvents(all, 7)
  await sleep(50)
  t.equal(all.events.length, 7)
  t.equal(one.events.length, 4)
  const ids = all.events.map((event) => event.lastEventId)
  t.equal(new Set(ids).size, ids.length, 'every event id (a resume cursor) is distinct')
  t.equal(all.opens, 1)
})

t.test('with Redis: two instances share the events, and a client that reconnects gets exactly what it missed', async (t) => {
  const redis = await startRedis({}, t)
  // The store stands for the database both instances share; REDIS_URL selects the Redis broker.
  const options: QuickstartOptions = { store: new TaskStore(), env: { REDIS_URL: redis.url } }
  const a = await quickstart(t, options)
  let b = await quickstart(t, options)
  t.match((await http(a.base, 'GET', '/health')).json().broker, { ok: true, backend: 'redis' }, 'REDIS_URL selects the Redis broker')

  const sse = client(t, `${b.base}/events?topic=tasks`)
  t.same(await firstEvents(sse, 1), [['subscribed', { topics: ['tasks'] }]])
  t.equal((await http(a.base, 'POST', '/tasks', { body: { title: 'made on A' } })).status, 201)
  t.same((await firstEvents(sse, 2))[1], ['task:created', { id: 1 }], 'a change made through A reaches a subscriber of B')

  // B goes away (a deploy): its stream ends, and the client keeps trying to reconnect to B's address.
  await b.app.close()
  t.equal((await http(a.base, 'PATCH', '/tasks/1', { body: { done: true } })).status, 200)
  t.equal((await http(a.base, 'POST', '/tasks', { body: { title: 'made while B was down' } })).status, 201)
  t.equal((await http(a.base, 'DELETE', '/tasks/1')).status, 204)
  t.equal(sse.events.length, 2, 'nothing reached the client while B was down')

  // B is back on the same address: EventSource reconnects with its Last-Event-ID and B replays from Redis.
  b = await quickstart(t, options, b.port)
  t.same(await firstEvents(sse, 6), [
    ['subscribed', { topics: ['tasks'] }],
    ['task:created', { id: 1 }],
    ['subscribed', { topics: ['tasks'] }],
    ['task:updated', { id: 1 }],
    ['task:created', { id: 2 }],
    ['task:deleted', { id: 1 }]
  ])
  t.equal(sse.events[2].lastEventId, sse.events[1].lastEventId, 'the resumed stream opens at the cursor the client sent')
  t.equal((await http(a.base, 'POST', '/tasks', { body: { title: 'live again' } })).status, 201)
  t.same((await firstEvents(sse, 7))[6], ['task:created', { id: 3 }])
  await sleep(50)
  t.equal(sse.events.length, 7, 'each event exactly once')
  t.equal(sse.opens, 2)
})

t.test('without Redis a restart loses the history: the reconnecting client gets one `reset`, then live events', async (t) => {
  const store = new TaskStore()
  const first = await quickstart(t, { store })
  const sse = client(t, `${first.base}/events?topic=tasks`)
  await firstEvents(sse, 1)
  t.equal((await http(first.base, 'POST', '/tasks', { body: { title: 'before' } })).status, 201)
  await firstEvents(sse, 2)

  await first.app.close()
  // A new process: same address, same store, a new in-memory broker that never saw the client's cursor.
  const second = await quickstart(t, { store }, first.port)
  await within(new Promise<void>((resolve) => sse.source.addEventListener('open', () => resolve(), { once: true })), 10_000, 'the reconnect')
  t.equal((await http(second.base, 'POST', '/tasks', { body: { title: 'after' } })).status, 201)
  t.same(await firstEvents(sse, 4), [
    ['subscribed', { topics: ['tasks'] }],
    ['task:created', { id: 1 }],
    ['reset', { reason: 'epoch-changed', topics: ['tasks'] }],
    ['task:created', { id: 2 }]
  ])
  t.same(summary(sse.events).length, 4)
})
