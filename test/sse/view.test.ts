import t from 'tap'
import { Type, type Static } from '@sinclair/typebox'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import {
  ForbiddenError, ListView, ModelViewSet, NotFoundError, ServerSideEventsView, sseRoute, ViewRouter, type SSEContext
} from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { http, listen } from '../helpers/http.js'
import { SSEClient } from '../helpers/sse-client.js'
import { deferred, frames, openStream, openStreams } from '../helpers/sse-http.js'
import { until } from '../helpers/wait.js'

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8'
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const Price = Type.Object({ symbol: Type.String(), price: Type.Number() })
const Halt = Type.Object({ reason: Type.String() })

class Prices extends ServerSideEventsView({
  querystring: Type.Object({ symbol: Type.String({ pattern: '^[A-Z]+$' }), n: Type.Integer({ minimum: 0, maximum: 10 }) }),
  data: Price,
  events: ['price']
}) {
  private count = 0
  eventId () { return `p-${++this.count}` }

  async * events () {
    for (let i = 0; i < this.query.n; i++) yield { event: 'price' as const, data: { symbol: this.query.symbol, price: i + 0.5 } }
  }
}

t.test('a ServerSideEventsView streams exact frames with exact headers', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(Prices, { prefix: '/prices' }) })
  const base = await listen(app)
  const res = await http(base, 'GET', '/prices?symbol=ACME&n=3')
  t.equal(res.status, 200)
  t.equal(res.text,
    ': \n\n' +
    'id: p-1\nevent: price\ndata: {"symbol":"ACME","price":0.5}\n\n' +
    'id: p-2\nevent: price\ndata: {"symbol":"ACME","price":1.5}\n\n' +
    'id: p-3\nevent: price\ndata: {"symbol":"ACME","price":2.5}\n\n')
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-cache, no-transform')
  t.equal(res.headers['x-accel-buffering'], 'no')
  t.equal(res.headers.connection, 'keep-alive')
  t.equal(res.headers['transfer-encoding'], 'chunked')
  t.equal(res.headers['content-length'], undefined)
  t.equal(res.headers['heartbeat-interval'], '15', 'the heartbeat interval (seconds), announced for clients that watch for silence')
  t.same(Object.keys(res.headers).sort(), ['cache-control', 'connection', 'content-type', 'date', 'heartbeat-interval', 'transfer-encoding', 'x-accel-buffering'])

  const empty = await http(base, 'GET', '/prices?symbol=ACME&n=0')
  t.same([empty.status, empty.text], [200, ': \n\n'], 'a stream with no events is its opening comment')
  t.equal(openStreams(app), 0)
})

t.test('explicit ids are sent as given; null sends none; the default id is an increasing UUID v7', async (t) => {
  class Ids extends ServerSideEventsView({ data: Type.Integer() }) {
    async * events () {
      yield { data: 1, id: 'custom' }
      yield { data: 2, id: 0 }
      yield { data: 3, id: null }
      for (let i = 4; i <= 9; i++) yield { data: i }
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Ids, { prefix: '/ids' }) })
  const base = await listen(app)
  const res = await http(base, 'GET', '/ids')
  const sent = frames(res.text)
  t.same(sent.slice(0, 4), [': \n\n', 'id: custom\ndata: 1\n\n', 'id: 0\ndata: 2\n\n', 'data: 3\n\n'])
  const generated = sent.slice(4).map((frame) => /^id: (.*)\ndata: (\d)\n\n$/.exec(frame))
  t.same(generated.map((match) => match?.[2]), ['4', '5', '6', '7', '8', '9'], 'one frame per event, each with an id and its data')
  const ids = generated.map((match) => match?.[1] ?? '')
  for (const id of ids) t.match(id, UUID_V7, `${id} is a UUID v7`)
  t.same(ids, [...ids].sort(), 'ids increase')
  t.equal(new Set(ids).size, ids.length, 'ids are distinct')
})

t.test('the head and the opening frame go out before the first event', async (t) => {
  const gate = deferred()
  let yielded = 0
  class Slow extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      await gate.promise
      yielded++
      yield { data: 'first', id: '1' }
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Slow, { prefix: '/slow' }) })
  const base = await listen(app)
  const stream = await openStream(base, '/slow')
  // The client holds the status and the headers while the generator is still waiting.
  t.equal(stream.status, 200)
  t.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(await stream.body.until('\n\n'), ': \n\n', 'the opening comment arrived on its own')
  t.equal(yielded, 0, 'the generator has not yielded yet')
  gate.resolve()
  t.equal(await stream.body.all(), ': \n\nid: 1\ndata: first\n\n')
  t.equal(yielded, 1)
})

t.test('retry from the definition, or from a retry class field, is the opening frame', async (t) => {
  class Defined extends ServerSideEventsView({ data: Type.Integer(), retry: 1500 }) {
    async * events () { yield { data: 1, id: 'a' } }
  }
  class Field extends ServerSideEventsView({ data: Type.Integer(), retry: 1500 }) {
    retry = 0
    async * events () { yield { data: 2, id: 'b' } }
  }
  class PerEvent extends ServerSideEventsView({ data: Type.Integer() }) {
    async * events () { yield { data: 3, id: 'c', retry: 40 } }
  }
  const app = await buildApp(t, (router) => {
    router.registerView(Defined, { prefix: '/defined' }).registerView(Field, { prefix: '/field' }).registerView(PerEvent, { prefix: '/per-event' })
  })
  const base = await listen(app)
  t.equal((await http(base, 'GET', '/defined')).text, 'retry: 1500\n\nid: a\ndata: 1\n\n')
  t.equal((await http(base, 'GET', '/field')).text, 'retry: 0\n\nid: b\ndata: 2\n\n', 'the class field overrides the definition, 0 included')
  t.equal((await http(base, 'GET', '/per-event')).text, ': \n\nid: c\nretry: 40\ndata: 3\n\n', 'an event may carry its own retry')
})

t.test('params and querystring are typed, validated and coerced; a bad one is a 400 problem and nothing streams', async (t) => {
  let started = 0
  class Quotes extends ServerSideEventsView({
    params: Type.Object({ symbol: Type.String({ pattern: '^[A-Z]+$' }) }),
    querystring: Type.Object({ depth: Type.Integer({ minimum: 1 }) }),
    data: Type.Object({ symbol: Type.String(), depth: Type.Integer(), doubled: Type.Integer() })
  }) {
    async * events () {
      started++
      yield { data: { symbol: this.params.symbol, depth: this.query.depth, doubled: this.query.depth * 2 }, id: null }
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Quotes, { prefix: '/quotes/:symbol' }) })
  const base = await listen(app)
  const ok = await http(base, 'GET', '/quotes/ACME?depth=3')
  t.equal(ok.text, ': \n\ndata: {"symbol":"ACME","depth":3,"doubled":6}\n\n', 'depth arrived as a number')

  let res = await http(base, 'GET', '/quotes/ACME?depth=abc')
  t.equal(res.status, 400)
  t.equal(res.headers['content-type'], PROBLEM_TYPE)
  t.same(res.json(), {
    type: 'about:blank',
    title: 'Bad Request',
    status: 400,
    detail: 'querystring/depth must be integer',
    instance: '/quotes/ACME',
    code: 'FVIEWS_ERR_VALIDATION',
    errors: [{ path: '/querystring/depth', message: 'must be integer', keyword: 'type' }]
  })
  res = await http(base, 'GET', '/quotes/ACME')
  t.same([res.status, res.json().detail, res.json().errors], [400, "querystring must have required property 'depth'", [{ path: '/querystring/depth', message: "must have required property 'depth'", keyword: 'required' }]])
  res = await http(base, 'GET', '/quotes/acme?depth=1')
  t.same([res.status, res.json().detail, res.json().errors], [400, 'params/symbol must match pattern "^[A-Z]+$"', [{ path: '/params/symbol', message: 'must match pattern "^[A-Z]+$"', keyword: 'pattern' }]])
  t.equal(started, 1, 'only the valid request reached the generator')
  t.equal(openStreams(app), 0)
})

t.test('lastEventId comes from the Last-Event-ID header, else ?lastEventId=; an over-long one is cut, never dropped', async (t) => {
  class Resume extends ServerSideEventsView({ data: Type.Object({ fromThis: Type.Union([Type.String(), Type.Null()]), fromContext: Type.Union([Type.String(), Type.Null()]) }) }) {
    async * events (ctx: { lastEventId: string | undefined }) {
      yield { data: { fromThis: this.lastEventId ?? null, fromContext: ctx.lastEventId ?? null }, id: null }
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Resume, { prefix: '/resume' }) })
  const base = await listen(app)
  const seen = async (path: string, headers: Record<string, string> = {}) => {
    const res = await http(base, 'GET', path, { headers })
    t.equal(res.status, 200)
    return JSON.parse(/^: \n\ndata: (.*)\n\n$/.exec(res.text)?.[1] ?? 'false')
  }
  const atLimit = 'x'.repeat(4096)
  // Cut to one character over the limit: a view (and the broker's cursor check) still sees that it is too
  // long; dropping it made a resume a silent fresh subscription (issue 11 #5).
  const over = 'x'.repeat(5000)
  const cut = 'x'.repeat(4097)
  t.same(await seen('/resume'), { fromThis: null, fromContext: null })
  t.same(await seen('/resume', { 'last-event-id': 'h-17' }), { fromThis: 'h-17', fromContext: 'h-17' })
  t.same(await seen('/resume?lastEventId=q-9'), { fromThis: 'q-9', fromContext: 'q-9' })
  t.same(await seen('/resume?lastEventId=q-9', { 'Last-Event-ID': 'h-17' }), { fromThis: 'h-17', fromContext: 'h-17' }, 'the header wins')
  t.same(await seen('/resume', { 'last-event-id': atLimit }), { fromThis: atLimit, fromContext: atLimit }, '4096 characters are kept')
  t.same(await seen('/resume', { 'last-event-id': over }), { fromThis: cut, fromContext: cut }, '5000 are cut to 4097')
  t.same(await seen(`/resume?lastEventId=${over}`), { fromThis: cut, fromContext: cut })
})

t.test('this.event() builds events; a schema per event name validates each name', async (t) => {
  class Market extends ServerSideEventsView({ querystring: Type.Object({ wrong: Type.Optional(Type.String()) }), events: { price: Price, halt: Halt } }) {
    eventId () { return undefined }
    async * events () {
      yield this.event('price', { symbol: 'ACME', price: 12.25 })
      yield this.event('halt', { reason: 'news pending' }, { id: 'h1', retry: 5000 })
      if (this.query.wrong === 'data') yield this.event('halt', { symbol: 'ACME', price: 1 } as any)
      if (this.query.wrong === 'name') yield this.event('resume' as any, { symbol: 'ACME', price: 1 } as any)
      yield this.event('price', { symbol: 'ACME', price: 12.5, extra: 'dropped' } as any)
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Market, { prefix: '/market' }) })
  const base = await listen(app)
  t.equal((await http(base, 'GET', '/market')).text,
    ': \n\n' +
    'event: price\ndata: {"symbol":"ACME","price":12.25}\n\n' +
    'id: h1\nevent: halt\nretry: 5000\ndata: {"reason":"news pending"}\n\n' +
    'event: price\ndata: {"symbol":"ACME","price":12.5}\n\n', 'undeclared properties are not serialised')

  const wrongData = frames((await http(base, 'GET', '/market?wrong=data')).text)
  t.equal(wrongData.length, 4)
  const dataProblem = JSON.parse(/^event: error\ndata: (.*)\n\n$/.exec(wrongData[3])?.[1] ?? 'null')
  t.same([dataProblem.code, dataProblem.status], ['FVIEWS_ERR_SSE_INVALID_EVENT', 500], 'halt data is checked against the halt schema')
  const wrongName = frames((await http(base, 'GET', '/market?wrong=name')).text)
  t.equal(wrongName.length, 4)
  t.match(wrongName[3], /^event: error\ndata: \{.*"code":"FVIEWS_ERR_SSE_INVALID_EVENT".*\}\n\n$/, 'an unknown name is refused')
})

t.test('beforeStream() refuses with an ordinary problem document and streams nothing', async (t) => {
  let streamed = 0
  class Room extends ServerSideEventsView({ params: Type.Object({ room: Type.String() }), data: Type.String() }) {
    beforeStream () {
      if (this.params.room === 'missing') throw new NotFoundError("room 'missing' not found")
      if (this.params.room === 'secret') throw new ForbiddenError('members only')
    }

    async * events () {
      streamed++
      yield { data: `welcome to ${this.params.room}`, id: null }
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Room, { prefix: '/rooms/:room' }) })
  const base = await listen(app)
  let res = await http(base, 'GET', '/rooms/missing')
  t.same([res.status, res.headers['content-type']], [404, PROBLEM_TYPE])
  t.same(res.json(), { type: 'about:blank', title: 'Not Found', status: 404, detail: "room 'missing' not found", instance: '/rooms/missing', code: 'FVIEWS_HTTP_NOT_FOUND' })
  t.equal(res.headers['cache-control'], undefined, 'no event-stream header leaked into the refusal')
  res = await http(base, 'GET', '/rooms/secret')
  t.same([res.status, res.headers['content-type']], [403, PROBLEM_TYPE])
  t.same(res.json(), { type: 'about:blank', title: 'Forbidden', status: 403, detail: 'members only', instance: '/rooms/secret', code: 'FVIEWS_HTTP_FORBIDDEN' })
  t.equal(streamed, 0)
  res = await http(base, 'GET', '/rooms/lobby')
  t.same([res.status, res.text], [200, ': \n\ndata: welcome to lobby\n\n'])
  t.equal(openStreams(app), 0)
})

t.test('@sseRoute adds streams to an SSE view and to generic views, detail routes with the typed :id', async (t) => {
  const ticks = { querystring: Type.Object({ n: Type.Integer() }), data: Type.Integer(), events: ['tick'] as const }
  class Feed extends ServerSideEventsView({ data: Type.String() }) {
    async * events () { yield { data: 'main', id: null } }

    @sseRoute('/ticks', ticks)
    async * ticks (ctx: SSEContext<typeof ticks>) {
      for (let i = 1; i <= ctx.query.n; i++) yield { event: 'tick' as const, data: i, id: i }
    }
  }
  const Task = Type.Object({ id: Type.Integer(), title: Type.String() })
  const tasks = new Map<number, Static<typeof Task>>([[1, { id: 1, title: 'write tests' }]])
  const Change = Type.Object({ id: Type.Integer(), title: Type.String() })
  class Tasks extends ModelViewSet({ model: Task, id: Type.Integer() }) {
    list () { return [...tasks.values()] }
    retrieve (id: number) { return tasks.get(id) }
    create (body: Static<typeof Task>) { return body }
    update () { return null }
    partialUpdate () { return null }
    destroy () { return false }

    @sseRoute('/changes', { data: Change, events: ['changed'] })
    async * changes () { for (const task of tasks.values()) yield { event: 'changed' as const, data: task, id: task.id } }

    @sseRoute('/watch', { data: Change, events: ['changed'] }, { detail: true })
    async watch () {
      // Runs before anything streams: a missing task is an ordinary 404 problem.
      const task = tasks.get(this.params.id)
      if (task === undefined) throw new NotFoundError(`task ${this.params.id} not found`)
      const id = this.params.id
      return (async function * () { yield { event: 'changed' as const, data: { id, title: task.title }, id: `${typeof id}-${id}` } })()
    }
  }
  class Names extends ListView({ model: Type.Object({ name: Type.String() }) }) {
    list () { return [{ name: 'a' }] }
    @sseRoute('/live', { data: Type.Object({ name: Type.String() }) })
    async * live () { yield { data: { name: 'b' }, id: 'n1' } }
  }
  const app = await buildApp(t, (router) => {
    router.registerView(Feed, { prefix: '/feed' }).registerView(Tasks, { prefix: '/tasks' }).registerView(Names, { prefix: '/names' })
  })
  const base = await listen(app)
  t.equal((await http(base, 'GET', '/feed')).text, ': \n\ndata: main\n\n')
  t.equal((await http(base, 'GET', '/feed/ticks?n=2')).text, ': \n\nid: 1\nevent: tick\ndata: 1\n\nid: 2\nevent: tick\ndata: 2\n\n')
  t.equal((await http(base, 'GET', '/tasks/changes')).text, ': \n\nid: 1\nevent: changed\ndata: {"id":1,"title":"write tests"}\n\n')
  t.equal((await http(base, 'GET', '/tasks/1/watch')).text, ': \n\nid: number-1\nevent: changed\ndata: {"id":1,"title":"write tests"}\n\n', ':id arrives as a number')
  let res = await http(base, 'GET', '/tasks/2/watch')
  t.same([res.status, res.headers['content-type']], [404, PROBLEM_TYPE])
  t.same(res.json(), { type: 'about:blank', title: 'Not Found', status: 404, detail: 'task 2 not found', instance: '/tasks/2/watch', code: 'FVIEWS_HTTP_NOT_FOUND' })
  res = await http(base, 'GET', '/tasks/abc/watch')
  t.same([res.status, res.json().errors], [400, [{ path: '/params/id', message: 'must be integer', keyword: 'type' }]])
  t.equal((await http(base, 'GET', '/names/live')).text, ': \n\nid: n1\ndata: {"name":"b"}\n\n')
  t.same((await http(base, 'GET', '/names')).json(), [{ name: 'a' }], 'the generic routes are still served')
  t.equal(openStreams(app), 0)
})

t.test('EventSource and eventsource-parser both read exactly the yielded events', async (t) => {
  // JSON data (object schemas) and raw text (a string schema is sent as is, its line breaks becoming data lines).
  const prices = [
    { event: 'price', data: { symbol: 'ACME', price: 1 }, id: 'e1' },
    { data: { symbol: 'ACME', price: 2 }, id: null },
    { event: 'price', data: { symbol: 'ÄCMÉ ✓', price: -3.5 }, id: 0 },
    { event: 'price', data: { symbol: 'a\nb', price: 0 }, id: '' }
  ]
  const notes = [
    { event: 'note', data: 'line one\nline two\r\nline three\rend', id: 'n1' },
    { data: '', id: null },
    { event: 'note', data: 'trailing newline\n', id: 'n:3 with spaces' },
    { data: '\r\n\n{"not":"parsed"}', id: 'n4' }
  ]
  class PriceStream extends ServerSideEventsView({ data: Price, retry: 60_000 }) {
    async * events () { yield * prices }
  }
  class NoteStream extends ServerSideEventsView({ data: Type.String(), retry: 60_000 }) {
    async * events () { yield * notes }
  }
  const app = await buildApp(t, (router) => { router.registerView(PriceStream, { prefix: '/prices' }).registerView(NoteStream, { prefix: '/notes' }) })
  const base = await listen(app)
  const text = (data: unknown) => typeof data === 'string' ? data.replace(/\r\n|\r/g, '\n') : JSON.stringify(data)

  for (const [path, yielded] of [['/prices', prices], ['/notes', notes]] as const) {
    // eventsource-parser, fed the body in the chunks it arrived in: each frame's own fields.
    const parsed: EventSourceMessage[] = []
    const retries: number[] = []
    const parser = createParser({ onEvent: (event) => parsed.push(event), onRetry: (retry) => retries.push(retry) })
    const stream = await openStream(base, path)
    stream.body.onText = (chunk) => parser.feed(chunk)
    await stream.body.all()
    t.same(retries, [60_000], `${path}: the opening retry`)
    t.strictSame(parsed.map((event) => ({ event: event.event, data: event.data, id: event.id })), yielded.map((event) => ({
      event: (event as { event?: string }).event, data: text(event.data), id: event.id === null ? undefined : String(event.id)
    })), `${path}: eventsource-parser`)

    // The `eventsource` package: the type, the data, and the lastEventId of each event. (It sets an event's
    // lastEventId from that frame's own id, '' without one, where the WHATWG spec keeps the last one seen;
    // the id it sends back on reconnect is the sticky one, tested below.)
    const client = new SSEClient(`${base}${path}`, { types: ['price', 'note'] })
    t.teardown(() => client.close())
    await client.waitFor(yielded.length)
    await until(() => client.connectionErrors > 0, 'the stream ended')
    const expected = yielded.map((event) => ({
      type: (event as { event?: string }).event ?? 'message', data: text(event.data), lastEventId: event.id === null ? '' : String(event.id)
    }))
    t.strictSame(client.events, expected, `${path}: EventSource`)
    t.equal(client.opens, 1, `${path}: the retry of 60 s kept it from reconnecting during the test`)
    client.close()
  }
})

t.test('EventSource reconnects after a clean end and resumes with Last-Event-ID', async (t) => {
  const resumedFrom: Array<string | undefined> = []
  class Counter extends ServerSideEventsView({ data: Type.Integer(), events: ['count'], retry: 1 }) {
    async * events () {
      resumedFrom.push(this.lastEventId)
      const from = this.lastEventId === undefined ? 0 : Number(this.lastEventId)
      for (let i = from + 1; i <= Math.min(from + 2, 4); i++) yield { event: 'count' as const, data: i, id: i }
      if (from >= 4) await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Counter, { prefix: '/count' }) })
  const base = await listen(app)
  const client = new SSEClient(`${base}/count`, { types: ['count'] })
  t.teardown(() => client.close())
  t.strictSame(await client.waitFor(4), [1, 2, 3, 4].map((i) => ({ type: 'count', data: String(i), lastEventId: String(i) })))
  await until(() => resumedFrom.length === 3, 'the third connection')
  t.strictSame(resumedFrom, [undefined, '2', '4'], 'each reconnect sent the last id it had seen')
  t.equal(client.events.length, 4, 'no event twice')
  client.close()
  await until(() => openStreams(app) === 0, 'the server saw the client leave')
})

t.test('a stream is GET only: HEAD (which would open a stream to discard it) and other methods are 405 problems', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(Prices, { prefix: '/prices' }) })
  const base = await listen(app)
  for (const method of ['HEAD', 'POST']) {
    const res = await http(base, method, '/prices?symbol=ACME&n=1')
    t.same([res.status, res.headers.allow, res.headers['content-type']], [405, 'GET', PROBLEM_TYPE], method)
  }
})

t.test('a wrong stream definition is refused when the view is registered', async (t) => {
  const refused = (view: unknown) => {
    try {
      new ViewRouter().registerView(view)
    } catch (error) {
      return { code: (error as { code?: string }).code, message: (error as Error).message }
    }
    return 'registered'
  }
  class NegativeHeartbeat extends ServerSideEventsView({ heartbeatSeconds: -1 }) { async * events () { yield { data: 1 } } }
  class NaNHeartbeat extends ServerSideEventsView({ heartbeatSeconds: Number.NaN }) { async * events () { yield { data: 1 } } }
  class FractionalRetry extends ServerSideEventsView({ retry: 1.5 }) { async * events () { yield { data: 1 } } }
  class Both extends ServerSideEventsView({ data: Price, events: { price: Price } }) { async * events () { yield { data: 1 } as any } }
  class NoEvents extends ServerSideEventsView({ events: {} }) { async * events () { yield { data: 1 } as any } }
  class BadRoute extends ServerSideEventsView({}) {
    @sseRoute('/bad', { retry: -1 })
    async * bad () { yield { data: 1 } }
  }
  class Nothing extends ServerSideEventsView({ data: Price }) {}
  const invalid = (where: string, why: string) => ({ code: 'FVIEWS_ERR_VIEW_INVALID', message: `View '${where}' cannot be registered: ${why}` })
  t.same(refused(NegativeHeartbeat), invalid('NegativeHeartbeat', "'heartbeatSeconds' must be a number of seconds >= 0 (0 disables), got -1"))
  t.same(refused(NaNHeartbeat), invalid('NaNHeartbeat', "'heartbeatSeconds' must be a number of seconds >= 0 (0 disables), got NaN"))
  t.same(refused(FractionalRetry), invalid('FractionalRetry', "'retry' must be a non-negative integer of milliseconds, got 1.5"))
  t.same(refused(Both), invalid('Both', "give either 'data' or a schema per event in 'events', not both"))
  t.same(refused(NoEvents), invalid('NoEvents', "'events' names no event"))
  t.same(refused(BadRoute), invalid('BadRoute.bad', "'retry' must be a non-negative integer of milliseconds, got -1"))
  t.same(refused(Nothing), { code: 'FVIEWS_ERR_VIEW_NO_ROUTES', message: "View 'Nothing' has no routes: implement a verb method (get, post, ...), an action or events()" })
})
