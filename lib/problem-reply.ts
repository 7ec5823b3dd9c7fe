/**
 * Errors as RFC 9457 problem documents (https://www.rfc-editor.org/rfc/rfc9457): the problem for any
 * error, how it is sent, and the error handler the fastify-views plugin installs. An app that keeps its
 * own error handler can call these from it.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from './http-errors.js'
import { errorHeaders, PROBLEM_CONTENT_TYPE, problem, problemFromHttpError, revealedServerError, validationIssues, type ProblemDocument } from './problem.js'

export function sendProblem (reply: FastifyReply, doc: ProblemDocument, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(doc.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(doc)
}

/** The problem document for any error; unknown errors become a 500 that says nothing of the internals. */
export function problemFor (error: FastifyError | Error, request: FastifyRequest): { doc: ProblemDocument, headers: Record<string, string> } {
  if (error instanceof HttpError) return { doc: problemFromHttpError(error, request), headers: error.headers }
  const fastifyError = error as FastifyError
  if (fastifyError.validation !== undefined) {
    return {
      doc: problem(400, fastifyError.message, request, { code: 'FVIEWS_ERR_VALIDATION', errors: validationIssues(fastifyError) }),
      headers: {}
    }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const extra = typeof fastifyError.code === 'string' ? { code: fastifyError.code } : {}
    return { doc: problem(status, fastifyError.message, request, extra), headers: errorHeaders(error) }
  }
  // What a server-side failure may reveal is decided in one place, for answers and stream error frames alike.
  const revealed = revealedServerError(error)
  return {
    doc: problem(revealed.status, revealed.detail ?? `An internal error occurred; it was logged with request id ${String(request.id)}`, request, { code: revealed.code }),
    headers: {}
  }
}

/** The plugin's error handler; exported so an app with its own handler can delegate to it. */
export function problemErrorHandler (this: unknown, error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { doc, headers } = problemFor(error, request)
  if (doc.status >= 500) request.log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, 'request failed')
  else request.log.info({ err: { message: error.message, code: (error as FastifyError).code }, status: doc.status }, 'request refused')
  return sendProblem(reply, doc, headers)
}
