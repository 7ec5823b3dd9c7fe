import t from 'tap'
import { Writable } from 'node:stream'
import { Type } from '@sinclair/typebox'
import {
  APIView, BadRequestError, ConflictError, ForbiddenError, GoneError, HttpError, InternalServerError, MethodNotAllowedError,
  NotAcceptableError, NotFoundError, NotImplementedError, PayloadTooLargeError, PreconditionFailedError, ServiceUnavailableError,
  TooManyRequestsError, UnauthorizedError, UnprocessableEntityError, UnsupportedMediaTypeError
} from '../lib/index.js'
import { buildApp } from './helpers/app.js'
import { http, listen } from './helpers/http.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

class Echo extends APIView({ post: { body: Type.Object({ n: Type.Integer({ minimum: 1 }), tags: Type.Array(Type.String()) }, { additionalProperties: false }), response: { 200: Type.Object({ n: Type.Integer() }) } } }) {
  post () { return { n: this.body.n } }
}
class Crash extends APIView({}) {
  get (): never { throw new Error('database password is hunter2') }
}

t.test('every request error leaves as a problem document', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(Echo, { prefix: '/echo' }) }, { fastify: { bodyLimit: 64 } })
  const base = await listen(app)
  const cases: Array<[string, string, Record<string, unknown>, Record<string, unknown>, Record<string, string>?]> = [
    ['malformed JSON', 'POST', { raw: '{"n": 1', headers: { 'content-type': 'application/json' } },
      { type: 'about:blank', title: 'Bad Request', status: 400, detail: "Body is not valid JSON but content-type is set to 'application/json'", instance: '/echo', code: 'FST_ERR_CTP_INVALID_JSON_BODY' }],
    ['a wrong content type', 'POST', { raw: '<n/>', headers: { 'content-type': 'application/xml' } },
      { type: 'about:blank', title: 'Unsupported Media Type', status: 415, detail: 'Unsupported Media Type', instance: '/echo', code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }],
    ['an oversized body', 'POST', { body: { n: 1, tags: ['x'.repeat(100)] } },
      { type: 'about:blank', title: 'Payload Too Large', status: 413, detail: 'Request body is too large', instance: '/echo', code: 'FST_ERR_CTP_BODY_TOO_LARGE' }],
    ['a schema violation', 'POST', { body: { n: 0, tags: [] } },
      {
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: 'body/n must be >= 1',
        instance: '/echo',
        code: 'FVIEWS_ERR_VALIDATION',
        errors: [{ path: '/body/n', message: 'must be >= 1', keyword: 'minimum' }]
      }],
    ['a missing property', 'POST', { body: { n: 1 } },
      {
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: "body must have required property 'tags'",
        instance: '/echo',
        code: 'FVIEWS_ERR_VALIDATION',
        errors: [{ path: '/body/tags', message: "must have required property 'tags'", keyword: 'required' }]
      }],
    ['an unknown route', 'GET', {},
      { type: 'about:blank', title: 'Not Found', status: 404, detail: 'No route GET /nowhere', instance: '/nowhere', code: 'FVIEWS_ERR_ROUTE_NOT_FOUND' }],
    ['a known path with the wrong method', 'DELETE', {},
      { type: 'about:blank', title: 'Method Not Allowed', status: 405, detail: 'DELETE is not allowed on /echo; allowed: POST', instance: '/echo', code: 'FVIEWS_ERR_METHOD_NOT_ALLOWED' },
      { allow: 'POST' }]
  ]
  for (const [name, method, options, expected, headers] of cases) {
    const path = name === 'an unknown route' ? '/nowhere' : '/echo'
    const res = await http(base, method, path, options)
    t.equal(res.status, expected.status, `${name}: status`)
    t.equal(res.headers['content-type'], PROBLEM, `${name}: content type`)
    t.same(res.json(), expected, `${name}: document`)
    for (const [header, value] of Object.entries(headers ?? {})) t.equal(res.headers[header], value, `${name}: ${header}`)
  }
})

t.test('every validation failure is listed with its path when ajv reports all errors', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(Echo, { prefix: '/echo' }) }, { fastify: { ajv: { customOptions: { allErrors: true } } } })
  const base = await listen(app)
  const res = await http(base, 'POST', '/echo', { body: { n: 0, tags: [{}] } })
  t.same(res.json().errors, [
    { path: '/body/n', message: 'must be >= 1', keyword: 'minimum' },
    { path: '/body/tags/0', message: 'must be string', keyword: 'type' }
  ])
})

t.test('an unknown error is a 500 that leaks nothing and is logged with the request id', async (t) => {
  const lines: any[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const app = await buildApp(t, (router) => { router.registerView(Crash, { prefix: '/crash' }) }, { fastify: { logger: { level: 'info', stream } } })
  const base = await listen(app)
  const res = await http(base, 'GET', '/crash')
  t.equal(res.status, 500)
  t.equal(res.headers['content-type'], PROBLEM)
  const doc = res.json()
  t.notMatch(res.text, /hunter2/)
  const logged = lines.find((line) => line.msg === 'request failed')
  t.ok(logged, 'the failure is logged')
  t.same(doc, { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: `An internal error occurred; it was logged with request id ${logged.reqId}`, instance: '/crash', code: 'FVIEWS_ERR_INTERNAL' })
  t.equal(logged.err.message, 'database password is hunter2')
  t.equal(logged.route, '/crash')
})

t.test('the error classes carry their status, title and stable code', async (t) => {
  const expected: Array<[new (detail?: string) => HttpError, number, string]> = [
    [BadRequestError, 400, 'Bad Request'], [UnauthorizedError, 401, 'Unauthorized'], [ForbiddenError, 403, 'Forbidden'],
    [NotFoundError, 404, 'Not Found'], [MethodNotAllowedError, 405, 'Method Not Allowed'], [NotAcceptableError, 406, 'Not Acceptable'],
    [ConflictError, 409, 'Conflict'], [GoneError, 410, 'Gone'], [PreconditionFailedError, 412, 'Precondition Failed'],
    [PayloadTooLargeError, 413, 'Payload Too Large'], [UnsupportedMediaTypeError, 415, 'Unsupported Media Type'],
    [UnprocessableEntityError, 422, 'Unprocessable Entity'], [TooManyRequestsError, 429, 'Too Many Requests'],
    [InternalServerError, 500, 'Internal Server Error'], [NotImplementedError, 501, 'Not Implemented'],
    [ServiceUnavailableError, 503, 'Service Unavailable']
  ]
  for (const [ErrorClass, status, title] of expected) {
    const error = new ErrorClass('why')
    t.same([error instanceof HttpError, error.statusCode, error.title, error.detail, error.code, error.name],
      [true, status, title, 'why', `FVIEWS_HTTP_${title.toUpperCase().replace(/ /g, '_')}`, ErrorClass.name])
  }
  const custom = new ConflictError('taken', { type: 'https://example.com/problems/taken', code: 'EMAIL_TAKEN', extensions: { field: 'email' } })
  class Taken extends APIView({}) { post (): never { throw custom } }
  const app = await buildApp(t, (router) => { router.registerView(Taken, { prefix: '/taken' }) })
  const base = await listen(app)
  const res = await http(base, 'POST', '/taken')
  t.same(res.json(), { type: 'https://example.com/problems/taken', title: 'Conflict', status: 409, detail: 'taken', instance: '/taken', code: 'EMAIL_TAKEN', field: 'email' })
})
