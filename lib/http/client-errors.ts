/**
 * Problem documents for the requests that never reach a route: those Node's HTTP parser refuses (a
 * malformed request line, header bytes it does not accept, headers over its size limit, a request that
 * did not arrive in time) and those Fastify's router refuses (bad percent-encoding in the path, an
 * over-long path parameter). Fastify answers both with its own plain JSON; these answer as RFC 9457
 * documents with an exact status and a stable code, like every other error.
 *
 * Both are Fastify SERVER options (`clientErrorHandler`, `frameworkErrors`), fixed when the instance is
 * created: createApp sets them; configureApp, given an instance someone else created, can still take over
 * Node's `clientError` event from Fastify's default handler, but not the router's errors - pass
 * `frameworkErrors: problemFrameworkErrors` to `Fastify()` for those.
 */
import { maxHeaderSize as NODE_MAX_HEADER_SIZE, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import { FVIEWS_ERR_REQUEST_HEADERS_TOO_LARGE, FVIEWS_ERR_REQUEST_MALFORMED, FVIEWS_ERR_REQUEST_TIMEOUT } from '../errors.js'
import { PROBLEM_CONTENT_TYPE, printableText, problem, problemOf, serverErrorProblem } from '../problem.js'

/** An error Node reports on a connection before a request exists (`clientError`): its code says what was wrong. */
export interface ClientError extends Error { code?: string }

/** What Node's parser error means for the client (https://nodejs.org/api/http.html#event-clienterror). */
function clientErrorAnswer (error: ClientError, maxHeaderSize: number): FastifyError {
  if (error.code === 'HPE_HEADER_OVERFLOW') return new FVIEWS_ERR_REQUEST_HEADERS_TOO_LARGE(maxHeaderSize)
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new FVIEWS_ERR_REQUEST_TIMEOUT()
  return new FVIEWS_ERR_REQUEST_MALFORMED('The request is not valid HTTP/1.1 and could not be read')
}

/**
 * Fastify's `clientErrorHandler` server option (`this` is the instance): answers a request Node could not
 * parse with a problem document, then closes the connection - after a parse error the rest of the bytes on
 * it cannot be trusted to start a request.
 */
export function problemClientErrorHandler (this: FastifyInstance | undefined, error: ClientError, socket: Socket): void {
  // A reset connection has nobody to answer (as in Fastify's and Node's own handlers).
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  this?.log?.debug({ err: error }, 'client error: the request could not be parsed')
  // Node does the same check: once a response has begun on this socket, another one would corrupt it.
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true
  if (socket.writable && !answering) {
    // The server's own `maxHeaderSize` (Fastify's `http` options), else Node's (`--max-http-header-size`).
    const maxHeaderSize = (this?.server as { maxHeaderSize?: number } | undefined)?.maxHeaderSize ?? NODE_MAX_HEADER_SIZE
    const doc = problemOf(clientErrorAnswer(error, maxHeaderSize), undefined)
    const { status } = doc
    const body = JSON.stringify(doc)
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(error)
}

/**
 * Fastify's `frameworkErrors` server option: the router's refusals (FST_ERR_BAD_URL 400,
 * FST_ERR_MAX_PARAM_LENGTH 414, FST_ERR_ASYNC_CONSTRAINT 500) as problem documents. They keep Fastify's
 * code; the path they echo is the client's, so its unprintable bytes are escaped.
 */
export function problemFrameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode
  const refused = typeof status === 'number' && status >= 400 && status < 500
  if (!refused) request.log.error({ err: error }, 'request failed before routing')
  // A server-side failure reveals what every other answer may, no more.
  const doc = refused ? problem(status, printableText(error.message, 4096), request, { code: error.code }) : serverErrorProblem(error, request)
  void reply.code(doc.status).type(PROBLEM_CONTENT_TYPE).send(doc)
}

/**
 * Fastify server options with the problem-document handlers, unless the caller chose their own. Node
 * answers an HTTP/1.1 request without Host with an empty 400 of its own before Fastify sees it; with its
 * `requireHostHeader` off, refuseMissingHost gives that request a problem document instead.
 */
export function withProblemServerOptions<T extends FastifyServerOptions> (options: T): T {
  const plainHttp = (options as { http2?: unknown }).http2 !== true && (options as { https?: unknown }).https === undefined
  const http = plainHttp ? { http: { requireHostHeader: false, ...(options as { http?: object }).http } } : {}
  return { clientErrorHandler: problemClientErrorHandler, frameworkErrors: problemFrameworkErrors, ...options, ...http }
}

/**
 * An HTTP/1.1 request must carry Host (RFC 9112 §3.2, https://www.rfc-editor.org/rfc/rfc9112#section-3.2):
 * refused with a problem document where Node was told to let it through (createApp); elsewhere Node
 * refuses it first, with its own empty 400.
 */
export function refuseMissingHost (app: FastifyInstance): void {
  app.addHook('onRequest', function refuseRequestWithoutHost (request, reply, done) {
    if (request.raw.httpVersion !== '1.1' || request.headers.host !== undefined) return done()
    const doc = problemOf(new FVIEWS_ERR_REQUEST_MALFORMED('An HTTP/1.1 request needs a Host header (RFC 9112 §3.2)'), request)
    void reply.code(doc.status).header('connection', 'close').type(PROBLEM_CONTENT_TYPE).send(doc)
  })
}

/**
 * For an instance created elsewhere: Node's `clientError` goes to Fastify's default handler, bound at
 * creation. Swap in ours only when that default is still the one listening - a handler the user passed as
 * `clientErrorHandler` is theirs and stays.
 */
export function problemsForClientErrors (app: FastifyInstance): void {
  const server = app.server as FastifyInstance['server'] | undefined
  if (server === undefined || typeof server.listeners !== 'function') return
  const fastifyDefault = server.listeners('clientError').find((listener) => listener.name === 'bound defaultClientErrorHandler')
  if (fastifyDefault === undefined) return
  server.removeListener('clientError', fastifyDefault as (...args: unknown[]) => void)
  server.on('clientError', problemClientErrorHandler.bind(app))
}
