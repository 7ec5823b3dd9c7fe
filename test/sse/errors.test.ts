import t from 'tap'
import { Type } from '@sinclair/typebox'
import { ConflictError, ServerSideEventsView, sseRoute } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { http, listen } from '../helpers/http.js'
import { LogCapture, openStreams } from '../helpers/sse-http.js'

const Price = Type.Object({ symbol: Type.String(), price: Type.Number() })
const HINT = '. Annotate the generator (SSEStream<typeof definition>) or yield this.event(name, data) to have names checked at compile time'
const FIRST = 'id: 1\nevent: price\ndata: {"symbol":"ACME","price":1}\n\n'

const finallyRan: string[] = []

/** Streams one good event, then fails in the way `?case=` names; anything after the failure must never be sent. */
class Failing extends ServerSideEventsView({
  querystring: Type.Object({ case: Type.String() }),
  data: Price,
  events: ['price', 'halt']
}) {
  async * events () {
    try {
      yield { event: 'price' as const, data: { symbol: 'ACME', price: 1 }, id: 1 }
      switch (this.query.case) {
        case 'invalid-data': yield { event: 'price' as const, data: { symbol: 42, price: 'high' } as any, id: 2 }; break
        case 'missing-data': yield { event: 'price' as const, id: 2 } as any; break
        case 'unknown-name': yield { event: 'resume' as any, data: { symbol: 'ACME', price: 2 }, id: 2 }; break
        case 'misspelt-name': yield { event: 'prise' as any, data: { symbol: 'ACME', price: 2 }, id: 2 }; break
        case 'no-name': yield { data: { symbol: 'ACME', price: 2 }, id: 2 } as any; break
        case 'not-an-object': yield 42 as any; break
        case 'throws': throw new Error('connection to db-7 refused (password hunter2)')
        case 'http-error': throw new ConflictError('the price moved', { extensions: { current: 3 } })
        case 'bad-id': yield { event: 'price' as const, data: { symbol: 'ACME', price: 2 }, id: '2\ndata: injected' }; break
        case 'bad-retry': yield { event: 'price' as const, data: { symbol: 'ACME', price: 2 }, id: 2, retry: -5 }; break
      }
      yield { event: 'price' as const, data: { symbol: 'AFTER', price: 9 }, id: 9 }
    } finally {
      finallyRan.push(this.query.case)
    }
  }

  // Without a list of names, any name is allowed, but not one that would inject lines into the frame.
  @sseRoute('/any-name', { data: Type.String() })
  async * anyName () {
    yield { event: 'fine name', data: 'ok', id: 1 }
    yield { event: 'price\ndata: injected', data: 'x', id: 2 }
    yield { data: 'after', id: 9 }
  }
}

/**
 * The `event: error` frame for a problem document, exactly as it goes on the wire; for a refused event, with
 * that event's id, so a client that resumes moves past it (test/sse/refused-relay-event.test.ts).
 */
const errorFrame = (doc: object, id?: string) => `${id === undefined ? '' : `id: ${id}\n`}event: error\ndata: ${JSON.stringify(doc)}\n\n`
const streamFailed = (instance: string, code: string) => ({
  type: 'about:blank',
  title: 'Internal Server Error',
  status: 500,
  detail: 'The event stream failed; the error was logged with request id rid-1',
  instance,
  code
})

t.test('after streaming began, a failure becomes one event: error frame and the stream ends cleanly', async (t) => {
  const logs = new LogCapture()
  const app = await buildApp(t, (router) => { router.registerView(Failing, { prefix: '/prices' }) }, {
    fastify: { logger: { level: 'info', stream: logs }, genReqId: () => 'rid-1' }
  })
  const base = await listen(app)
  // The refused events carried id 2: the error frame carries it too. A generator that threw refused no event,
  // and an id that is itself the fault cannot be sent.
  const cases: Array<[string, object, string, string?]> = [
    ['invalid-data', streamFailed('/prices', 'FVIEWS_ERR_SSE_INVALID_EVENT'), 'Yielded event does not match its schema: data/symbol expected string; data/price expected number', '2'],
    ['missing-data', streamFailed('/prices', 'FVIEWS_ERR_SSE_INVALID_EVENT'), 'Yielded event does not match its schema: data expected object', '2'],
    ['unknown-name', streamFailed('/prices', 'FVIEWS_ERR_SSE_INVALID_EVENT'), "Yielded event does not match its schema: event 'resume' is not one of: price, halt"+HINT, '2'],
    ['misspelt-name', streamFailed('/prices', 'FVIEWS_ERR_SSE_INVALID_EVENT'), "Yielded event does not match its schema: event 'prise' is not one of: price, halt (did you mean 'price'?)"+HINT, '2'],
    ['no-name', streamFailed('/prices', 'FVIEWS_ERR_SSE_INVALID_EVENT'), 'Yielded event does not match its schema: an event without a name is not one of: price, halt'+HINT, '2'],
    ['not-an-object', streamFailed('/prices', 'FVIEWS_ERR_SSE_INVALID_EVENT'), 'Yielded event does not match its schema: expected an object { event, data, id, retry }'],
    ['throws', streamFailed('/prices', 'FVIEWS_ERR_INTERNAL'), 'connection to db-7 refused (password hunter2)'],
    ['http-error', { type: 'about:blank', title: 'Conflict', status: 409, detail: 'the price moved', instance: '/prices', current: 3, code: 'FVIEWS_HTTP_CONFLICT' }, 'the price moved'],
    ['bad-id', streamFailed('/prices', 'FVIEWS_ERR_SSE_INVALID_FIELD'), "Invalid SSE 'id' field: CR, LF and NUL are not allowed"],
    ['bad-retry', streamFailed('/prices', 'FVIEWS_ERR_SSE_INVALID_FIELD'), "Invalid SSE 'retry' field: expected a non-negative integer, got -5", '2']
  ]
  for (const [name, doc, logged, id] of cases) {
    const before = logs.lines.length
    const res = await http(base, 'GET', `/prices?case=${name}`) // resolves only on a complete response
    t.equal(res.status, 200, name)
    t.equal(res.text, ': \n\n' + FIRST + errorFrame(doc, id), `${name}: the good event, then only the error frame`)
    t.notMatch(res.text, /hunter2|db-7|AFTER/, `${name}: no internals, nothing after the failure`)
    const failures = logs.lines.slice(before).filter((line) => line.msg === 'event stream failed')
    t.same(failures.map((line) => [line.level, line.route, line.reqId, (line.err as any)?.message]), [[50, '/prices', 'rid-1', logged]], `${name}: logged once with the route and the cause`)
  }
  t.same(finallyRan, cases.map(([name]) => name), "every generator's finally ran")
  t.equal(openStreams(app), 0)
})

t.test('an event name with a line break is refused with FVIEWS_ERR_SSE_INVALID_FIELD', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(Failing, { prefix: '/prices' }) }, { fastify: { genReqId: () => 'rid-1' } })
  const base = await listen(app)
  const res = await http(base, 'GET', '/prices/any-name')
  t.equal(res.text, ': \n\nid: 1\nevent: fine name\ndata: ok\n\n' + errorFrame(streamFailed('/prices/any-name', 'FVIEWS_ERR_SSE_INVALID_FIELD'), '2'))
})

t.test('before streaming, an unknown error is an ordinary 500 problem that says nothing of the internals', async (t) => {
  let started = 0
  class Broken extends ServerSideEventsView({ data: Type.String() }) {
    beforeStream () { throw new Error('secret dsn postgres://u:hunter2@db') }
    async * events () { started++; yield { data: 'x' } }

    @sseRoute('/prepared', { data: Type.String() })
    async prepared (): Promise<AsyncIterable<{ data: string }>> {
      await Promise.resolve()
      throw new Error('secret dsn postgres://u:hunter2@db')
    }
  }
  const logs = new LogCapture()
  const app = await buildApp(t, (router) => { router.registerView(Broken, { prefix: '/broken' }) }, {
    fastify: { logger: { level: 'info', stream: logs }, genReqId: () => 'rid-1' }
  })
  const base = await listen(app)
  for (const path of ['/broken', '/broken/prepared']) {
    const res = await http(base, 'GET', path)
    t.same([res.status, res.headers['content-type'], res.headers['cache-control']], [500, 'application/problem+json; charset=utf-8', undefined], path)
    t.same(res.json(), { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'An internal error occurred; it was logged with request id rid-1', instance: path, code: 'FVIEWS_ERR_INTERNAL' })
    const logged = await logs.waitFor((line) => line.msg === 'request failed' && line.route === path)
    t.equal((logged.err as any).message, 'secret dsn postgres://u:hunter2@db', 'the cause is in the log only')
  }
  t.equal(started, 0)
  t.equal(openStreams(app), 0)
})
