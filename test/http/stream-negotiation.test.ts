/**
 * issue 12 (HTTP polish): an SSE route answers 406 (problem document) when Accept excludes
 * text/event-stream - absent and `*\/*` stream as today - and a 401 carries WWW-Authenticate when the error
 * says so (an HttpError's `headers`, or the `headers` of a Fastify-style error such as @fastify/jwt's).
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { request } from 'undici'
import { APIView, createApp, ServerSideEventsView, SubscriptionView, UnauthorizedError, ViewRouter } from '../../lib/index.js'
import { listen } from '../helpers/http.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

class Ticks extends ServerSideEventsView({ data: Type.Integer() }) {
  async * events () {
    yield { event: 'tick', data: 1, id: 1 }
    await new Promise((resolve) => setTimeout(resolve, 60_000).unref())
  }
}

const CHALLENGE = 'Bearer realm="events", error="invalid_token"'
class Private extends APIView({}) {
  get (): never { throw new UnauthorizedError('The token has expired', { headers: { 'www-authenticate': CHALLENGE } }) }
}

/** Status, content type, WWW-Authenticate and the body (a stream is cut after its head: it never ends). */
async function get (url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers })
  const type = String(res.headers['content-type'])
  const body = type.startsWith('text/event-stream') ? (res.body.destroy(), undefined) : JSON.parse(await res.body.text())
  return { status: res.statusCode, type, challenge: res.headers['www-authenticate'], body }
}

t.test('an SSE route refuses an Accept that excludes text/event-stream with 406, and streams for every Accept that allows it', async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(Ticks, { prefix: '/ticks' }).registerView(SubscriptionView(), { prefix: '/events' }).plugin)
  const base = await listen(app)
  const refused: string[] = ['application/json', 'text/html', 'text/event-stream;q=0, */*', 'text/*;q=0', 'application/*, image/png', '*/*;q=0']
  const streamed: Array<string | undefined> = [undefined, '*/*', 'text/event-stream', 'TEXT/EVENT-STREAM', 'text/*', 'text/html,application/xhtml+xml,*/*;q=0.8',
    'application/json;q=0.9, text/event-stream;q=0.1', 'text/event-stream; charset=utf-8', 'text/plain, */*;q=0.01']
  for (const path of ['/ticks', '/events?topic=a']) {
    for (const accept of refused) {
      const answer = await get(`${base}${path}`, { accept })
      t.same(answer, {
        status: 406,
        type: PROBLEM,
        challenge: undefined,
        body: {
          type: 'about:blank',
          title: 'Not Acceptable',
          status: 406,
          detail: `This endpoint answers with an event stream (text/event-stream), which the Accept header '${accept}' excludes`,
          instance: path.split('?')[0],
          code: 'FVIEWS_ERR_STREAM_NOT_ACCEPTABLE'
        }
      }, `${path}, Accept: ${accept}`)
    }
    for (const accept of streamed) {
      const answer = await get(`${base}${path}`, accept === undefined ? {} : { accept })
      t.same([answer.status, answer.type], [200, 'text/event-stream; charset=utf-8'], `${path}, Accept: ${String(accept)}`)
    }
  }
  // A malformed range is ignored (RFC 9110 lets a server do so); an Accept of nothing well-formed streams.
  t.equal((await get(`${base}/ticks`, { accept: 'garbage' })).status, 200)
  // An unprintable Accept is shown escaped.
  const odd = await get(`${base}/ticks`, { accept: 'application/json, x\u0085' })
  t.same([odd.status, odd.body.detail], [406, "This endpoint answers with an event stream (text/event-stream), which the Accept header 'application/json, x\\u0085' excludes"])
})

t.test('a 401 carries WWW-Authenticate when the error says so', async (t) => {
  const jwtStyle = Object.assign(new Error('Authorization token is invalid'), {
    statusCode: 401, code: 'FST_JWT_AUTHORIZATION_TOKEN_INVALID', headers: { 'www-authenticate': 'Bearer' }
  })
  const subscription = SubscriptionView({
    authorize: (request) => {
      if (request.headers.authorization === undefined) throw new UnauthorizedError('A token is needed to subscribe', { headers: { 'www-authenticate': CHALLENGE } })
      throw jwtStyle
    }
  })
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(Private, { prefix: '/private' }).registerView(subscription, { prefix: '/events' }).plugin)
  const base = await listen(app)
  t.same(await get(`${base}/private`), {
    status: 401,
    type: PROBLEM,
    challenge: CHALLENGE,
    body: { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'The token has expired', instance: '/private', code: 'FVIEWS_HTTP_UNAUTHORIZED' }
  }, 'a view method')
  t.same(await get(`${base}/events?topic=a`), {
    status: 401,
    type: PROBLEM,
    challenge: CHALLENGE,
    body: { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'A token is needed to subscribe', instance: '/events', code: 'FVIEWS_HTTP_UNAUTHORIZED' }
  }, 'a subscription refused by authorize')
  t.same(await get(`${base}/events?topic=a`, { authorization: 'Bearer x' }), {
    status: 401,
    type: PROBLEM,
    challenge: 'Bearer',
    body: { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'Authorization token is invalid', instance: '/events', code: 'FST_JWT_AUTHORIZATION_TOKEN_INVALID' }
  }, "a plugin's error with headers")
})
