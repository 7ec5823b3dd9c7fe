/**
 * issue 11 #15: a 5xx never carries a backend's raw text (a Redis `CROSSSLOT ...` reply), and an HTTP answer
 * and the `event: error` frame of a stream that already began reveal the same: one function decides.
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { APIView, FVIEWS_ERR_BROKER_CLOSED, FVIEWS_ERR_BROKER_UNAVAILABLE, FVIEWS_ERR_SSE_INVALID_EVENT, ServerSideEventsView } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { http, listen } from '../helpers/http.js'

const PROBLEM = 'application/problem+json; charset=utf-8'
const RAW = "publishing to 'x' failed: CROSSSLOT Keys in request don't hash to the same slot (redis-7.internal:6380)"

const failures: Record<string, () => Error> = {
  unavailable: () => new FVIEWS_ERR_BROKER_UNAVAILABLE(RAW),
  closed: () => new FVIEWS_ERR_BROKER_CLOSED(),
  'own-500': () => new FVIEWS_ERR_SSE_INVALID_EVENT(RAW),
  foreign: () => Object.assign(new Error(RAW), { statusCode: 503, code: 'ECONNREFUSED' })
}

class Fails extends APIView({ querystring: Type.Object({ case: Type.String() }) }) {
  get (): never { throw failures[this.query.case]() }
}
class FailsStreaming extends ServerSideEventsView({ querystring: Type.Object({ case: Type.String() }), data: Type.Integer() }) {
  async * events () {
    yield { event: 'n', data: 1, id: 1 }
    throw failures[this.query.case]()
  }
}

const revealed: Record<string, { status: number, detail: (id: string, stream: boolean) => string, code: string }> = {
  unavailable: { status: 503, detail: () => 'The event broker is unavailable', code: 'FVIEWS_ERR_BROKER_UNAVAILABLE' },
  closed: { status: 503, detail: () => 'The event broker is closed', code: 'FVIEWS_ERR_BROKER_CLOSED' },
  'own-500': {
    status: 500,
    detail: (id, stream) => stream ? `The event stream failed; the error was logged with request id ${id}` : `An internal error occurred; it was logged with request id ${id}`,
    code: 'FVIEWS_ERR_SSE_INVALID_EVENT'
  },
  foreign: {
    status: 500,
    detail: (id, stream) => stream ? `The event stream failed; the error was logged with request id ${id}` : `An internal error occurred; it was logged with request id ${id}`,
    code: 'FVIEWS_ERR_INTERNAL'
  }
}

t.test('HTTP answers and stream error frames reveal the same status and code, and never the backend text', async (t) => {
  const app = await buildApp(t, (router) => {
    router.registerView(Fails, { prefix: '/fails' }).registerView(FailsStreaming, { prefix: '/stream' })
  }, { fastify: { logger: false, genReqId: () => 'rid-9' } })
  const base = await listen(app)
  for (const [name, expected] of Object.entries(revealed)) {
    const answer = await http(base, 'GET', `/fails?case=${name}`)
    t.equal(answer.status, expected.status, `${name}: status`)
    t.equal(answer.headers['content-type'], PROBLEM, `${name}: content type`)
    t.same(answer.json(), {
      type: 'about:blank', title: expected.status === 503 ? 'Service Unavailable' : 'Internal Server Error', status: expected.status, detail: expected.detail('rid-9', false), instance: '/fails', code: expected.code
    }, `${name}: HTTP problem`)
    const stream = await http(base, 'GET', `/stream?case=${name}`)
    const frame = /event: error\ndata: (.*)\n\n$/.exec(stream.text)
    t.ok(frame, `${name}: an error frame ends the stream`)
    t.same(JSON.parse(frame![1]), {
      type: 'about:blank', title: expected.status === 503 ? 'Service Unavailable' : 'Internal Server Error', status: expected.status, detail: expected.detail('rid-9', true), instance: '/stream', code: expected.code
    }, `${name}: the frame reveals what the HTTP answer does`)
    t.notMatch(answer.text + stream.text, /CROSSSLOT|redis-7|publishing to/, `${name}: no backend text`)
  }
})
