/**
 * The stocks example as a user meets it: typed `price` events read by a real EventSource client, the exact
 * frames on the wire, refusals as problem documents before anything streams, and the @sseRoute.
 */
import t from 'tap'
import { build, OPENING, priceAt, type StocksOptions } from '../../examples/stocks/app.js'
import type { TestContext } from '../helpers/context.js'
import { http } from '../helpers/http.js'
import { openStreams } from '../helpers/sse-http.js'
import { until } from '../helpers/wait.js'
import type { SSEClient } from '../helpers/sse-client.js'
import { firstEvents, start, sseClient, type Running } from '../helpers/example-app.js'

const PROBLEM = 'application/problem+json; charset=utf-8'
const STREAM_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' }
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

async function stocks (t: TestContext, options: StocksOptions = {}): Promise<Running> {
  // STOCKS_INTERVAL_MS from the (test) environment, as `npm run example:stocks` reads it.
  const running = await start(build, { env: { STOCKS_INTERVAL_MS: '10' }, fastify: { logger: false }, ...options })
  t.teardown(() => running.app.close())
  return running
}

function client (t: TestContext, url: string, types = ['price']): SSEClient {
  return sseClient(t, url, { types })
}

/** The frames of a finished stream with their (random) ids taken out, and the ids. */
function frames (text: string): { frames: string[], ids: string[] } {
  const ids: string[] = []
  const out = text.split('\n\n').filter((frame) => frame !== '').map((frame) => frame.split('\n').filter((line) => {
    if (!line.startsWith('id: ')) return true
    ids.push(line.slice(4))
    return false
  }).join('\n'))
  return { frames: out, ids }
}

t.test('GET /stocks: price events of every symbol, in order, on a fixed curve', async (t) => {
  const { base } = await stocks(t)
  const all = client(t, `${base}/stocks`)
  const symbols = Object.keys(OPENING)
  t.same(symbols, ['AAPL', 'MSFT', 'NVDA'])
  const expected = [0, 1].flatMap((tick) => symbols.map((symbol) => ['price', { symbol, price: priceAt(symbol, tick) }]))
  t.same(await firstEvents(all, 6), expected)
  t.same(expected.slice(0, 3).map(([, data]) => data), [{ symbol: 'AAPL', price: 182.5 }, { symbol: 'MSFT', price: 415.1 }, { symbol: 'NVDA', price: 121.4 }])
  const ids = all.events.slice(0, 6).map((event) => event.lastEventId)
  t.ok(ids.every((id) => UUID_V7.test(id)), 'each event carries a time-ordered UUID')
  t.same([...ids].sort(), ids, 'in the order they were sent')
})

t.test('GET /stocks?symbol=: one symbol; STOCKS_INTERVAL_MS sets the pace', async (t) => {
  const { base } = await stocks(t)
  const started = Date.now()
  const msft = client(t, `${base}/stocks?symbol=MSFT`)
  const events = await firstEvents(msft, 30)
  t.same(events, Array.from({ length: 30 }, (_, tick) => ['price', { symbol: 'MSFT', price: priceAt('MSFT', tick) }]))
  t.ok(Date.now() - started < 2000, '30 prices 10 ms apart (at the default 1000 ms, they would take half a minute)')
})

t.test('the exact stream: headers, the opening comment, one frame per price, and the end after ?limit=', async (t) => {
  const { base } = await stocks(t)
  const res = await http(base, 'GET', '/stocks?limit=4')
  t.equal(res.status, 200)
  t.match(res.headers, STREAM_HEADERS)
  t.notOk('content-length' in res.headers)
  const { frames: got, ids } = frames(res.text)
  t.same(got, [
    ': ',
    'event: price\ndata: {"symbol":"AAPL","price":182.5}',
    'event: price\ndata: {"symbol":"MSFT","price":415.1}',
    'event: price\ndata: {"symbol":"NVDA","price":121.4}',
    `event: price\ndata: {"symbol":"AAPL","price":${priceAt('AAPL', 1)}}`
  ])
  t.equal(ids.length, 4)
  t.equal(new Set(ids).size, 4)
})

t.test('GET /stocks/custom-events (@sseRoute): two data events, then the stream ends', async (t) => {
  const { base } = await stocks(t)
  const res = await http(base, 'GET', '/stocks/custom-events')
  t.same([res.status, res.headers['content-type']], [200, STREAM_HEADERS['content-type']])
  t.same(frames(res.text).frames, [': ', 'event: data\ndata: {"id":1,"name":"first"}', 'event: data\ndata: {"id":2,"name":"second"}'])
  const custom = client(t, `${base}/stocks/custom-events`, ['data'])
  t.same(await firstEvents(custom, 2), [['data', { id: 1, name: 'first' }], ['data', { id: 2, name: 'second' }]])
})

t.test('refusals are problem documents, before anything is streamed', async (t) => {
  const { base } = await stocks(t)
  let res = await http(base, 'GET', '/stocks?symbol=TSLA')
  t.same([res.status, res.headers['content-type'], res.json()], [404, PROBLEM, {
    type: 'about:blank', title: 'Not Found', status: 404, detail: "Unknown symbol 'TSLA'; known: AAPL, MSFT, NVDA", instance: '/stocks', code: 'FVIEWS_HTTP_NOT_FOUND'
  }])
  res = await http(base, 'GET', '/stocks?symbol=aapl')
  t.same([res.status, res.headers['content-type'], res.json().errors], [400, PROBLEM, [{ path: '/querystring/symbol', message: 'must match pattern "^[A-Z]{1,5}$"', keyword: 'pattern' }]])
  res = await http(base, 'GET', '/stocks?limit=0')
  t.same([res.status, res.json().errors], [400, [{ path: '/querystring/limit', message: 'must be >= 1', keyword: 'minimum' }]])
})

t.test('a client that leaves stops its stream', async (t) => {
  const { app, base } = await stocks(t)
  const sse = client(t, `${base}/stocks`)
  await firstEvents(sse, 1)
  t.equal(openStreams(app), 1)
  sse.close()
  await until(() => openStreams(app) === 0, 'the stream is gone')
  t.pass('the generator was stopped while it waited for the next tick')
})

t.test('a bad STOCKS_INTERVAL_MS stops startup with a named error', async (t) => {
  await t.rejects(build({ env: { STOCKS_INTERVAL_MS: 'soon' }, fastify: { logger: false } }), {
    code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'STOCKS_INTERVAL_MS': expected an integer from 1 to 3600000, got 'soon'"
  })
})
