/**
 * issue 11 #15: every error is a problem document - also those Fastify and Node answer before any route runs:
 * bad percent-encoding in the path, an over-long path parameter, a malformed request line, header bytes Node
 * refuses, oversized headers. Raw TCP sockets, exact bytes.
 */
import t, { type Test } from 'tap'
import { createConnection } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { configureApp, createApp, problemClientErrorHandler, problemFrameworkErrors } from '../../lib/index.js'
import { listen } from '../helpers/http.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

/** Writes `bytes` on a fresh connection and returns everything the server sent until it closed (or 10 s). */
async function raw (app: FastifyInstance, bytes: string | Buffer): Promise<string> {
  const { port } = app.server.address() as { port: number }
  return await new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => { socket.destroy(); resolve(Buffer.concat(chunks).toString('latin1')) }, 10_000)
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      // A keep-alive answer does not close: stop once a whole body has arrived.
      const text = Buffer.concat(chunks).toString('latin1')
      const head = text.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: (\d+)\r\n/i.exec(text)
      if (head >= 0 && length !== null && Buffer.byteLength(text.slice(head + 4), 'latin1') >= Number(length[1])) socket.end()
    })
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')) })
    socket.on('error', (error: NodeJS.ErrnoException) => { if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error) })
    socket.write(bytes)
  })
}

/** The exact answer written for a request Node could not parse: no Date, no keep-alive, the connection closes. */
function unparsable (status: number, reason: string, doc: object): string {
  const body = JSON.stringify(doc)
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${PROBLEM}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

const MALFORMED = unparsable(400, 'Bad Request', {
  type: 'about:blank', title: 'Bad Request', status: 400, detail: 'The request is not valid HTTP/1.1 and could not be read', code: 'FVIEWS_ERR_REQUEST_MALFORMED'
})
const HEADERS_TOO_LARGE = unparsable(431, 'Request Header Fields Too Large', {
  type: 'about:blank',
  title: 'Request Header Fields Too Large',
  status: 431,
  detail: 'The request headers are larger than this server accepts (16384 bytes)',
  code: 'FVIEWS_ERR_REQUEST_HEADERS_TOO_LARGE'
})

const unparsableRequests: Array<[string, string | Buffer, string]> = [
  ['a malformed request line', 'BAD REQUEST LINE\r\n\r\n', MALFORMED],
  ['an invalid method token', 'G@T /items/1 HTTP/1.1\r\nHost: x\r\n\r\n', MALFORMED],
  ['a C1 control byte (0x9B, a terminal CSI) in the path', Buffer.from('GET /items/%zz\x9b31m HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'), MALFORMED],
  ['a control byte in a header value', 'GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n', MALFORMED],
  ['a space in a header name', 'GET /items/1 HTTP/1.1\r\nHost: x\r\nX Note: a\r\n\r\n', MALFORMED],
  ['a bare LF line ending inside the headers', 'GET /items/1 HTTP/1.1\r\nHost: x\nX-Note: a\r\n\r\n', MALFORMED],
  ['headers over the size limit', `GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, HEADERS_TOO_LARGE]
]

/** Answers of a request that reached Fastify's router: status line, content type and body, exactly. */
function routed (answer: string): { statusLine: string, contentType: string | undefined, body: any } {
  const [head, body] = answer.split('\r\n\r\n')
  const lines = head.split('\r\n')
  const contentType = lines.find((line) => line.toLowerCase().startsWith('content-type:'))?.slice('content-type:'.length).trim()
  return { statusLine: lines[0], contentType, body: JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) }
}

async function checkRouterErrors (t: Test, app: FastifyInstance): Promise<void> {
  const badPath = routed(await raw(app, 'GET /items/%zz HTTP/1.1\r\nHost: x\r\n\r\n'))
  t.same(badPath, {
    statusLine: 'HTTP/1.1 400 Bad Request',
    contentType: PROBLEM,
    body: { type: 'about:blank', title: 'Bad Request', status: 400, detail: "'/items/%zz' is not a valid url component", instance: '/items/%zz', code: 'FST_ERR_BAD_URL' }
  }, 'bad percent-encoding in the path')
  const badUtf8 = routed(await raw(app, 'GET /items/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n'))
  t.same(badUtf8.body, { type: 'about:blank', title: 'Bad Request', status: 400, detail: "'/items/%E0%A4%A' is not a valid url component", instance: '/items/%E0%A4%A', code: 'FST_ERR_BAD_URL' }, 'truncated UTF-8 in the path')
  t.equal(badUtf8.contentType, PROBLEM)
  const long = routed(await raw(app, `GET /items/${'a'.repeat(120)} HTTP/1.1\r\nHost: x\r\n\r\n`))
  t.same(long, {
    statusLine: 'HTTP/1.1 414 URI Too Long',
    contentType: PROBLEM,
    body: { type: 'about:blank', title: 'URI Too Long', status: 414, detail: `'/items/${'a'.repeat(120)}' is exceeding the max param length`, instance: `/items/${'a'.repeat(120)}`, code: 'FST_ERR_MAX_PARAM_LENGTH' }
  }, 'an over-long path parameter')
  const fine = routed(await raw(app, 'GET /items/7 HTTP/1.1\r\nHost: x\r\n\r\n'))
  t.same([fine.statusLine, fine.body], ['HTTP/1.1 200 OK', { id: '7' }], 'a good request still works')
}

t.test('createApp: every request Node or the router refuses leaves as a problem document', async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  app.get('/items/:id', async (request) => request.params)
  await listen(app)
  for (const [name, bytes, expected] of unparsableRequests) t.equal(await raw(app, bytes), expected, name)
  await checkRouterErrors(t, app)
  const noHost = routed(await raw(app, 'GET /items/1 HTTP/1.1\r\n\r\n'))
  t.same(noHost, {
    statusLine: 'HTTP/1.1 400 Bad Request',
    contentType: PROBLEM,
    body: { type: 'about:blank', title: 'Bad Request', status: 400, detail: 'An HTTP/1.1 request needs a Host header (RFC 9112 §3.2)', instance: '/items/1', code: 'FVIEWS_ERR_REQUEST_MALFORMED' }
  }, 'an HTTP/1.1 request without Host')
  const old = routed(await raw(app, 'GET /items/1 HTTP/1.0\r\n\r\n'))
  t.same([old.statusLine, old.body], ['HTTP/1.1 200 OK', { id: '1' }], 'HTTP/1.0 needs no Host')
})

t.test("the 431 names the server's own header limit", async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false, http: { maxHeaderSize: 4096 } } as object })
  t.teardown(() => app.close())
  await listen(app)
  t.equal(await raw(app, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`), unparsable(431, 'Request Header Fields Too Large', {
    type: 'about:blank',
    title: 'Request Header Fields Too Large',
    status: 431,
    detail: 'The request headers are larger than this server accepts (4096 bytes)',
    code: 'FVIEWS_ERR_REQUEST_HEADERS_TOO_LARGE'
  }))
})

t.test('createApp keeps a clientErrorHandler and frameworkErrors the user passed', async (t) => {
  const app = await createApp({
    env: {},
    fastify: {
      logger: false,
      clientErrorHandler: (_error, socket) => { socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\nConnection: close\r\n\r\nmine') },
      frameworkErrors: (_error, _request, reply) => { void (reply as any).code(400).type('text/plain').send('my bad url') }
    }
  })
  t.teardown(() => app.close())
  app.get('/items/:id', async (request) => request.params)
  await listen(app)
  t.equal(await raw(app, 'BAD REQUEST LINE\r\n\r\n'), 'HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\nConnection: close\r\n\r\nmine')
  t.match(await raw(app, 'GET /items/%zz HTTP/1.1\r\nHost: x\r\n\r\n'), /\r\n\r\nmy bad url$/)
})

t.test("configureApp on the user's own Fastify: unparsable requests become problem documents; the router's need frameworkErrors", async (t) => {
  const app = Fastify({ logger: false, frameworkErrors: problemFrameworkErrors })
  t.teardown(() => app.close())
  await configureApp(app, { title: 'test' })
  app.get('/items/:id', async (request) => request.params)
  await listen(app)
  for (const [name, bytes, expected] of unparsableRequests) t.equal(await raw(app, bytes), expected, name)
  await checkRouterErrors(t, app)
})

t.test("configureApp leaves a clientErrorHandler the user gave Fastify alone", async (t) => {
  const app = Fastify({ logger: false, clientErrorHandler: (_error, socket) => { socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\nConnection: close\r\n\r\nmine') } })
  t.teardown(() => app.close())
  await configureApp(app, { title: 'test' })
  await listen(app)
  t.equal(await raw(app, 'BAD REQUEST LINE\r\n\r\n'), 'HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\nConnection: close\r\n\r\nmine')
})

t.test('the handlers are usable as Fastify server options directly', async (t) => {
  const app = Fastify({ logger: false, clientErrorHandler: problemClientErrorHandler, frameworkErrors: problemFrameworkErrors })
  t.teardown(() => app.close())
  app.get('/items/:id', async (request) => request.params)
  await listen(app)
  t.equal(await raw(app, 'BAD REQUEST LINE\r\n\r\n'), MALFORMED)
  const badPath = routed(await raw(app, 'GET /items/%zz HTTP/1.1\r\nHost: x\r\n\r\n'))
  t.same([badPath.contentType, badPath.body.code, badPath.body.status], [PROBLEM, 'FST_ERR_BAD_URL', 400])
})

t.test('fuzzed requests: whatever Node, the router or the app refuses is a problem document', async (t) => {
  const { default: fc } = await import('fast-check')
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  app.get('/items/:id', async (request) => request.params)
  await listen(app)
  // Requests assembled from parts that go wrong in different ways, each part mostly right so that every
  // layer gets its turn: Node's parser, the router, the route's schema, the 404/405 handler.
  const mostly = <T>(good: T, ...bad: T[]) => fc.oneof({ arbitrary: fc.constant(good), weight: 3 }, { arbitrary: fc.constantFrom(...bad), weight: 1 })
  const method = mostly('GET', 'POST', 'G@T', 'get', '', 'DELETE')
  const path = fc.constantFrom('/items/1', '/items/%zz', '/items/%E0%A4%A', '/%', '/items/' + 'a'.repeat(120), '*', 'items', '/items/1?x=%zz', '/nowhere', '/items/\u00e9', '/items/%C3%A9')
  const version = mostly(' HTTP/1.1', ' HTTP/1.0', ' HTTP/2.0', ' HTTP/1.x', '', ' http/1.1')
  const host = mostly(['Host: x'], [], ['Host: x', 'Host: y'])
  const header = mostly('X-A: b', 'X A: b', 'X-A: \u0001', 'X-A b', ': empty', 'Content-Length: -1', 'Transfer-Encoding: chunked', 'Accept: text/event-stream', 'X-Big: ' + 'b'.repeat(17_000))
  const ending = mostly('\r\n', '\n')
  await fc.assert(fc.asyncProperty(method, path, version, host, fc.array(header, { maxLength: 3 }), ending, async (m, p, v, hosts, others, eol) => {
    const headers = [...hosts, ...others]
    const bytes = Buffer.from(`${m} ${p}${v}${eol}${headers.join(eol)}${headers.length > 0 ? eol : ''}${eol}`, 'latin1')
    const answer = await raw(app, bytes)
    if (process.env.FUZZ_DEBUG !== undefined) console.error(JSON.stringify(answer.slice(0, 12)))
    if (answer === '') return // closed without an answer (Node found nothing it could answer)
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1])
    t.ok(status >= 100 && status < 600, `a status line for ${JSON.stringify(bytes.toString('latin1').slice(0, 80))}`)
    if (status >= 400) {
      t.match(answer, /\r\ncontent-type: application\/problem\+json; charset=utf-8\r\n/i, `a problem document for ${JSON.stringify(bytes.toString('latin1').slice(0, 80))} (${status})`)
    }
  }), { seed: 1115, numRuns: 150 })
})
