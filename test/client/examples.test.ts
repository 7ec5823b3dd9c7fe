/**
 * fastify-views/client on Node against the examples, over real HTTP (Node's own fetch): resume across two
 * instances on one Redis, `reset` after a restart that lost the history, the watchdog on a connection that
 * went silent (a proxy black-holes its bytes), 503 + Retry-After, and a final 401/403/404 with the problem
 * document and no second attempt.
 */
import t from 'tap'
import { connect, subscribe, EventStreamError } from '../../lib/client/index.js'
import { build as quickstart, TaskStore, type QuickstartOptions } from '../../examples/quickstart/app.js'
import { build as crm } from '../../examples/crm-comments/app.js'
import { build as stocks, priceAt, type stockViews } from '../../examples/stocks/app.js'
import { MemoryBroker } from '../../lib/index.js'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import type { TestContext } from '../helpers/context.js'
import { http } from '../helpers/http.js'
import { startRedis } from '../helpers/redis-server.js'
import { SSEClient } from '../helpers/sse-client.js'
import { start, type Running } from '../helpers/example-app.js'
import { sleep } from '../helpers/wait.js'
import { record, stateNames, switchingFetch } from './support.js'

// The quickstart's topics, as its catalog would type them.
interface QuickstartTopics {
  tasks: { 'task:created': { id: number }, 'task:updated': { id: number }, 'task:deleted': { id: number } }
  'task:{id}': { 'task:created': { id: number }, 'task:updated': { id: number }, 'task:deleted': { id: number } }
}
const TASK_EVENTS = ['task:created', 'task:updated', 'task:deleted']
const PROBLEM = 'application/problem+json; charset=utf-8'
// Equal jitter with random() = 0 waits exactly half the doubling delay: the waits are known.
const noJitter = { random: () => 0 }

async function running (t: TestContext, build: (options: any) => Promise<any>, options: object, port = 0): Promise<Running> {
  const started = await start(build, { env: {}, drainMs: 0, fastify: { logger: false }, ...options }, port)
  t.teardown(() => started.app.close())
  return started
}

t.test('resume across instances: the events published through another instance while away arrive once, in order, from the cursor', async (t) => {
  const redis = await startRedis({}, t)
  const options: QuickstartOptions = { store: new TaskStore(), env: { REDIS_URL: redis.url } }
  const a = await running(t, quickstart, options)
  const b = await running(t, quickstart, options)
  const route = switchingFetch(a.base)
  const stream = subscribe<QuickstartTopics>(`${a.base}/events`, ['tasks'], { fetch: route.fetch, ...noJitter })
  t.teardown(() => stream.close())
  const seen = record(stream, TASK_EVENTS)
  await seen.until(() => stream.state === 'open', 'the stream to open')
  t.equal((await http(a.base, 'POST', '/tasks', { body: { title: 'one' } })).status, 201)
  await seen.until(() => seen.events.length === 1, 'the first event')
  const cursor = stream.lastEventId

  // Instance A goes away: its stream ends, and attempts fail until B is the target.
  await a.app.close()
  await seen.until(() => seen.states.some((change) => change.reason === 'network'), 'an attempt that found nobody')
  t.equal((await http(b.base, 'POST', '/tasks', { body: { title: 'two' } })).status, 201)
  t.equal((await http(b.base, 'PATCH', '/tasks/1', { body: { done: true } })).status, 200)
  route.target.origin = b.base
  await seen.until(() => seen.events.length === 3, 'the two events missed')

  t.same(seen.events, [['task:created', { id: 1 }], ['task:created', { id: 2 }], ['task:updated', { id: 1 }]], 'every event once, in order')
  t.same(seen.resets, [], 'no reset: the history is in Redis')
  t.same(route.attempts[0].headers['last-event-id'], undefined, 'the first attempt has no cursor')
  t.ok(route.attempts.slice(1).every((attempt) => attempt.headers['last-event-id'] === cursor), 'every later attempt resumed from the last id, as a header')
  t.match(route.attempts.at(-1), { url: `${b.base}/events?topic=tasks`, status: 200 })
  t.same(stateNames(seen.states).filter((name, i, all) => name !== all[i - 1]), ['open', 'reconnecting/ended', 'reconnecting/network', 'open'])
  const waits = seen.states.filter(({ state }) => state === 'reconnecting')
  t.same(waits.map(({ attempt }) => attempt), waits.map((_, i) => i + 1), 'attempts count up while refused')
  t.same(waits.map(({ delayMs }) => delayMs), waits.map((_, i) => 500 * 2 ** i),
    "the server's retry (1000 ms) is the base; the waits double, half of each random (0 here)")
})

t.test('reset: after a restart that lost the history, the reset callback is told why, and live events follow', async (t) => {
  const first = await running(t, quickstart, {})
  const route = switchingFetch(first.base)
  const stream = subscribe<QuickstartTopics>(`${first.base}/events`, ['tasks'], { fetch: route.fetch, ...noJitter })
  t.teardown(() => stream.close())
  const seen = record(stream, TASK_EVENTS)
  await seen.until(() => stream.state === 'open', 'the stream to open')
  t.equal((await http(first.base, 'POST', '/tasks', { body: { title: 'before' } })).status, 201)
  await seen.until(() => seen.events.length === 1, 'the first event')

  await first.app.close()
  const second = await running(t, quickstart, {})
  route.target.origin = second.base
  await seen.until(() => seen.resets.length === 1, 'the reset')
  t.same(seen.resets, [{ reason: 'epoch-changed', topics: ['tasks'] }])
  t.equal((await http(second.base, 'POST', '/tasks', { body: { title: 'after' } })).status, 201)
  await seen.until(() => seen.events.length === 2, 'the live event after the reset')
  t.same(seen.events, [['task:created', { id: 1 }], ['task:created', { id: 1 }]], 'the new instance numbers from 1 again: the page refetches on reset')
})

t.test('the watchdog: a connection whose bytes stop arriving is replaced after 3 heartbeat intervals, and resumes', async (t) => {
  const app = await running(t, quickstart, { heartbeatSeconds: 0.2 })
  const proxy = await startFaultProxy(app.port, t)
  const base = `http://127.0.0.1:${proxy.port}`
  const stream = subscribe<QuickstartTopics>(`${base}/events`, ['tasks'], { ...noJitter })
  t.teardown(() => stream.close())
  const seen = record(stream, TASK_EVENTS)
  await seen.until(() => stream.state === 'open', 'the stream to open')
  t.equal((await http(app.base, 'POST', '/tasks', { body: { title: 'one' } })).status, 201)
  await seen.until(() => seen.events.length === 1, 'the first event')

  // Half-open: the connection stays up, nothing arrives - neither heartbeats nor events.
  proxy.drop({ direction: 'down' })
  stream.onState((change) => { if (change.reason === 'silent') proxy.resume() })
  t.equal((await http(app.base, 'POST', '/tasks', { body: { title: 'lost on the dead connection' } })).status, 201)
  await seen.until(() => seen.events.length === 2, 'the event replayed on the new connection')
  t.same(seen.events, [['task:created', { id: 1 }], ['task:created', { id: 2 }]])
  t.same(stateNames(seen.states), ['open', 'reconnecting/silent', 'open'])
  // (Node's fetch may also open a spare connection that never carries a request.)
  t.equal(proxy.opened().filter(({ forwarded }) => forwarded.up > 0).length, 2, 'one new request, on a new connection')
  await seen.until(() => proxy.connections().length === 1, 'the silent connection to be closed')
  t.equal(app.app.topicMetrics.openConnections, 1)
})

t.test('503 with Retry-After: the client waits at least what the server said, then gets in and resumes', async (t) => {
  const broker = new MemoryBroker()
  t.teardown(() => broker.close())
  const app = await running(t, quickstart, { broker, maxConnections: 1 })
  const squatter = new SSEClient(`${app.base}/events?topic=elsewhere`)
  t.teardown(() => squatter.close())
  await squatter.opened
  const route = switchingFetch(app.base)
  const stream = subscribe<QuickstartTopics>(`${app.base}/events`, ['tasks'], { fetch: route.fetch, ...noJitter })
  t.teardown(() => stream.close())
  const seen = record(stream, TASK_EVENTS)
  await seen.until(() => seen.states.length === 1, 'the refusal')
  t.same(seen.states, [{ state: 'reconnecting', reason: 'status', attempt: 1, delayMs: 2000, status: 503 }], 'Retry-After: 2 is the wait, not the backoff')
  t.equal(stream.error, undefined, 'a 503 is not final')
  squatter.close()
  await seen.until(() => stream.state === 'open', 'the stream to open once there is room')
  const [refused, admitted] = route.attempts
  t.same([refused.status, admitted.status], [503, 200])
  t.ok(admitted.at - refused.at >= 2000, `the second attempt came ${admitted.at - refused.at} ms after the first, not before the Retry-After`)
  t.equal((await http(app.base, 'POST', '/tasks', { body: { title: 'in' } })).status, 201)
  await seen.until(() => seen.events.length === 1, 'a live event')
})

t.test('401, 403 and 404 are final: the problem document, no second attempt, the state closed', async (t) => {
  const app = await running(t, crm, {})
  const cases: Array<[string, Record<string, string>, number]> = [
    ['/events?topic=thread:1', {}, 401],
    ['/events?topic=comments', { authorization: 'Bearer bob-token' }, 403]
  ]
  for (const [path, headers, status] of cases) {
    const route = switchingFetch(app.base)
    const stream = connect(`${app.base}${path}`, { fetch: route.fetch, headers })
    const seen = record(stream, [])
    const error = await stream.ended
    const answer = await http(app.base, 'GET', path, { headers: { accept: 'text/event-stream', ...headers } })
    t.same([answer.status, answer.headers['content-type']], [status, PROBLEM])
    t.ok(error instanceof EventStreamError)
    t.match(error, { code: 'FVIEWS_ERR_CLIENT_REFUSED', status, final: true })
    t.same(error?.problem, answer.json(), `${status}: the problem document the server sent, whole`)
    t.equal(error?.message, `The server refused the stream (${status}): ${answer.json().detail}`)
    t.same(route.attempts.map((attempt) => attempt.status), [status], `${status}: one attempt`)
    t.same(seen.states, [{ state: 'closed' }])
    t.same(seen.errors, [error], 'onError heard the final error once')
    t.equal(stream.error, error)
  }
  const prices = await running(t, stocks, { intervalMs: 5 })
  const unknown = connect<ReturnType<typeof stockViews>>(`${prices.base}/stocks?symbol=ZZZZ`)
  const error = await unknown.ended
  t.match(error, { status: 404, problem: { status: 404, title: 'Not Found', detail: "Unknown symbol 'ZZZZ'; known: AAPL, MSFT, NVDA" } })
})

t.test('a typed view stream: the stocks view, closed through an AbortSignal, leaves the server with no stream', async (t) => {
  const app = await running(t, stocks, { intervalMs: 5 })
  const controller = new AbortController()
  const stream = connect<ReturnType<typeof stockViews>>(`${app.base}/stocks?symbol=MSFT`, { signal: controller.signal })
  const prices: Array<{ symbol: string, price: number }> = []
  stream.on('price', (price) => { prices.push(price) })
  const seen = record(stream, ['price'])
  await seen.until(() => seen.events.length >= 3, 'three prices')
  controller.abort()
  t.equal(await stream.ended, undefined, 'closed by the user: no error')
  t.equal(stream.state, 'closed')
  const count = prices.length
  t.same(prices.slice(0, 3), [0, 1, 2].map((tick) => ({ symbol: 'MSFT', price: priceAt('MSFT', tick) })), 'the data parsed')
  let open = -1
  for (let i = 0; i < 100 && open !== 0; i++) {
    open = (await http(app.base, 'GET', '/health')).json().openConnections
    if (open !== 0) await sleep(50)
  }
  t.equal(open, 0, 'the server saw the stream close')
  t.equal(prices.length, count, 'nothing delivered after close')
})

t.test('an answer that is not an event stream (a page) is final, and names the content type', async (t) => {
  const app = await running(t, quickstart, {})
  const stream = connect(`${app.base}/`)
  const error = await stream.ended
  t.match(error, { code: 'FVIEWS_ERR_CLIENT_NOT_EVENT_STREAM', status: 200, final: true, message: "The answer is not an event stream (content-type 'text/html; charset=utf-8'): check the URL" })
})
