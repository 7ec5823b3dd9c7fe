/**
 * Errors as RFC 9457 problem documents (https://www.rfc-editor.org/rfc/rfc9457): the problem for any
 * error, how it is sent, and the error handler the fastify-views plugin installs. An app that keeps its
 * own error handler can call these from it.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { FVIEWS_ERR_VALIDATION } from './errors.js'
import { HttpError } from './http-errors.js'
import { errorHeaders, PROBLEM_CONTENT_TYPE, problem, problemFromHttpError, problemOf, serverErrorProblem, validationIssues, type ProblemDocument } from './problem.js'

export function sendProblem (reply: FastifyReply, doc: ProblemDocument, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(doc.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(doc)
}

/** The problem document for any error; unknown errors become a 500 that says nothing of the internals. */
export function problemFor (error: FastifyError | Error, request: FastifyRequest): { doc: ProblemDocument, headers: Record<string, string> } {
  if (error instanceof HttpError) return { doc: problemFromHttpError(error, request), headers: error.headers }
  const fastifyError = error as FastifyError
  if (fastifyError.validation !== undefined) {
    return {
      doc: problemOf(new FVIEWS_ERR_VALIDATION(fastifyError.message), request, { errors: validationIssues(fastifyError) }),
      headers: {}
    }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const extra = typeof fastifyError.code === 'string' ? { code: fastifyError.code } : {}
    return { doc: problem(status, fastifyError.message, request, extra), headers: errorHeaders(error) }
  }
  // What a server-side failure may reveal is decided in one place, for answers and stream error frames alike.
  return { doc: serverErrorProblem(error, request), headers: {} }
}

/** The plugin's error handler; exported so an app with its own handler can delegate to it. */
export function problemErrorHandler (this: unknown, error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { doc, headers } = problemFor(error, request)
  if (doc.status >= 500) request.log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, 'request failed')
  else request.log.info({ err: { message: error.message, code: (error as FastifyError).code }, status: doc.status }, 'request refused')
  return sendProblem(reply, doc, headers)
}
