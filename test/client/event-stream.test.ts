/**
 * The client's stream against small apps, over real HTTP: a view that fails mid-stream (its `event: error`
 * problem, then a reconnect), a listener that throws (the stream goes on), a line beyond the bound, 204
 * (stop), headers renewed per attempt, the cursor as `?lastEventId=`, a stored cursor, and the native
 * EventSource transport (the `eventsource` package on Node).
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { EventSource } from 'eventsource'
import { ServerSideEventsView } from '../../lib/index.js'
import { connect, type EventSourceConstructor } from '../../lib/client/index.js'
import { buildApp } from '../helpers/app.js'
import type { TestContext } from '../helpers/context.js'
import { listen } from '../helpers/http.js'
import { record, stateNames, switchingFetch } from './support.js'

const noJitter = { random: () => 0, initialDelayMs: 20 }

/** A view that yields `n` numbered events from the cursor on, then fails once (the first connection only). */
async function numbers (t: TestContext, options: { failFirst?: boolean } = {}) {
  const seenCursors: Array<string | undefined> = []
  let connections = 0
  const app = await buildApp(t, (router) => {
    class Numbers extends ServerSideEventsView({ data: Type.Integer(), events: ['n'], heartbeatSeconds: 0 }) {
      async * events () {
        seenCursors.push(this.lastEventId)
        const from = this.lastEventId === undefined ? 0 : Number(this.lastEventId)
        connections++
        for (let n = from + 1; n <= from + 3; n++) yield { event: 'n' as const, data: n, id: n }
        if (options.failFirst === true && connections === 1) throw new Error('the database went away')
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      }
    }
    router.registerView(Numbers, { prefix: '/numbers' })
  }, { fastify: { logger: false } })
  const base = await listen(app)
  return { base, seenCursors }
}

t.test("a view that fails mid-stream: its problem document reaches onError, and the client resumes from the last id", async (t) => {
  const { base, seenCursors } = await numbers(t, { failFirst: true })
  const stream = connect<{ events: { n: ReturnType<typeof Type.Integer> } }>(`${base}/numbers`, noJitter)
  t.teardown(() => stream.close())
  const seen = record(stream, ['n'])
  await seen.until(() => seen.events.length === 6, 'six numbers')
  t.same(seen.events.map(([, n]) => n), [1, 2, 3, 4, 5, 6], 'each number once')
  t.same(seenCursors, [undefined, '3'])
  t.equal(seen.errors.length, 1)
  t.match(seen.errors[0], { code: 'FVIEWS_ERR_CLIENT_STREAM_FAILED', final: false, status: 500, problem: { status: 500, title: 'Internal Server Error', code: 'FVIEWS_ERR_INTERNAL' } })
  t.notMatch(seen.errors[0].message, /database/, 'no internals')
  t.same(stateNames(seen.states), ['open', 'reconnecting/server-error', 'open'])
  t.same(seen.states[1], { state: 'reconnecting', reason: 'server-error', attempt: 1, delayMs: 10 }, 'a failed stream backs off as a failed attempt')
})

t.test('close() from a listener stops delivery at once, even of events read in the same chunk; a listener removed meanwhile is not called', async (t) => {
  const { base } = await numbers(t)
  const stream = connect<{ events: { n: ReturnType<typeof Type.Integer> } }>(`${base}/numbers`, noJitter)
  t.teardown(() => stream.close())
  const got: number[] = []
  const second: number[] = []
  let removeSecond = (): void => {}
  stream.on('n', (n) => {
    got.push(n)
    if (n === 1) removeSecond()
    if (n === 2) stream.close()
  })
  removeSecond = stream.on('n', (n) => { second.push(n) })
  t.equal(await stream.ended, undefined, 'closed, no error')
  // The three events left the server in one write; give any stray delivery a chance to show.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(got, [1, 2], 'nothing after close()')
  t.same(second, [], 'removed while event 1 was being dispatched: not called for it')
})

t.test('a listener that throws does not stop the stream; the error is rethrown apart', async (t) => {
  const { base } = await numbers(t)
  const thrown: unknown[] = []
  const onUncaught = (error: unknown): void => { thrown.push(error) }
  process.on('uncaughtException', onUncaught)
  t.teardown(() => process.off('uncaughtException', onUncaught))
  const stream = connect(`${base}/numbers`, noJitter)
  t.teardown(() => stream.close())
  stream.on('n', (n) => { if (n === 2) throw new Error('a page bug') })
  const seen = record(stream, ['n'])
  await seen.until(() => seen.events.length === 3, 'three numbers')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(seen.events.map(([, n]) => n), [1, 2, 3])
  t.same(thrown.map((error) => (error as Error).message), ['a page bug'])
  t.equal(stream.state, 'open')
})

t.test('the cursor as ?lastEventId=, a stored cursor, and headers asked for per attempt', async (t) => {
  const { base, seenCursors } = await numbers(t)
  const route = switchingFetch(base)
  let token = 0
  const stream = connect(`${base}/numbers?x=1`, { ...noJitter, fetch: route.fetch, resumeWith: 'query', lastEventId: '10', headers: () => ({ authorization: `Bearer t${++token}` }) })
  t.teardown(() => stream.close())
  const seen = record(stream, ['n'])
  await seen.until(() => seen.events.length === 3, 'three numbers')
  t.same(seen.events.map(([, n]) => n), [11, 12, 13])
  t.same(seenCursors, ['10'])
  t.same(route.attempts.map(({ url, headers }) => [url, headers]), [[`${base}/numbers?x=1&lastEventId=10`, { accept: 'text/event-stream', authorization: 'Bearer t1' }]])
})

t.test('204 means stop: closed, no error, no second attempt', async (t) => {
  const app = await buildApp(t, (_router, app) => { app.get('/gone', (_request, reply) => reply.code(204).send()) }, { fastify: { logger: false } })
  const base = await listen(app)
  const route = switchingFetch(base)
  const stream = connect(`${base}/gone`, { fetch: route.fetch })
  t.equal(await stream.ended, undefined)
  t.same([stream.state, route.attempts.length], ['closed', 1])
})

t.test('a line longer than maxLineLength drops the connection (reported) instead of growing without bound', async (t) => {
  let served = 0
  const app = await buildApp(t, (_router, app) => {
    app.get('/long', (_request, reply) => {
      served++
      reply.hijack()
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream' })
      reply.raw.write('data: ' + 'x'.repeat(5000))
    })
  }, { fastify: { logger: false } })
  const base = await listen(app)
  const stream = connect(`${base}/long`, { ...noJitter, maxLineLength: 1000 })
  t.teardown(() => stream.close())
  const seen = record(stream, [])
  await seen.until(() => seen.errors.length === 2, 'two connections dropped')
  t.match(seen.errors, [{ code: 'FVIEWS_ERR_CLIENT_LINE_TOO_LONG', final: false }, { code: 'FVIEWS_ERR_CLIENT_LINE_TOO_LONG' }])
  t.ok(served >= 2)
})

t.test('the native EventSource transport: typed listeners, resume with ?lastEventId= after it gives up', async (t) => {
  const { base, seenCursors } = await numbers(t, { failFirst: true })
  const stream = connect(`${base}/numbers`, { ...noJitter, transport: 'eventsource', EventSource: EventSource as unknown as EventSourceConstructor })
  t.teardown(() => stream.close())
  const seen = record(stream, ['n'])
  await seen.until(() => seen.events.length === 6, 'six numbers')
  t.same(seen.events.map(([, n]) => n), [1, 2, 3, 4, 5, 6])
  t.same(seenCursors, [undefined, '3'], 'EventSource resumed with its Last-Event-ID')
  t.match(seen.errors, [{ code: 'FVIEWS_ERR_CLIENT_STREAM_FAILED', problem: { status: 500 } }])
  stream.close()
  t.equal(await stream.ended, undefined)
})
