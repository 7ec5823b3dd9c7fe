/**
 * configureApp(app, options): every error leaves as an RFC 9457 problem document, OpenAPI and Swagger UI
 * are served, CORS is on when asked. Call it (and await it) before registering routes, so that the
 * OpenAPI generator and the 405 detector see every route.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import cors, { type FastifyCorsOptions } from '@fastify/cors'
import FindMyWay from 'find-my-way'
import { HttpError } from './http-errors.js'
import { errorHeaders, PROBLEM_CONTENT_TYPE, problem, problemFromHttpError, revealedServerError, validationIssues, type ProblemDocument } from './problem.js'
import { registerOpenAPI, type OpenAPIOptions } from './openapi/swagger.js'
import { streamRegistryOf, type StreamSettings } from './sse/registry.js'
import { problemsForClientErrors, refuseMissingHost } from './http/client-errors.js'
import { strictBodies } from './http/validation.js'
import { negotiateEventStreams } from './http/accept.js'

export interface ConfigureAppOptions extends OpenAPIOptions, StreamSettings {
  /** `true` for permissive CORS (any origin), or @fastify/cors options. */
  cors?: boolean | FastifyCorsOptions
}

const PROBED_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

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

export async function configureApp (app: FastifyInstance, options: ConfigureAppOptions = {}): Promise<FastifyInstance> {
  // A private router that only knows which methods exist at which path: it turns a 404 into a 405.
  const known = FindMyWay()
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      try { known.on(method as any, route.url, () => {}) } catch { /* duplicate or constrained route: already known */ }
    }
  })

  app.setErrorHandler(function problemErrorHandler (error: FastifyError, request, reply) {
    const { doc, headers } = problemFor(error, request)
    if (doc.status >= 500) request.log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, 'request failed')
    else request.log.info({ err: { message: error.message, code: (error as FastifyError).code }, status: doc.status }, 'request refused')
    return sendProblem(reply, doc, headers)
  })

  app.setNotFoundHandler(function problemNotFound (request, reply) {
    const path = request.url.split('?')[0]
    const allowed = PROBED_METHODS.filter((method) => known.find(method as any, path) !== null)
    if (allowed.length > 0) {
      const doc = problem(405, `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, request, { code: 'FVIEWS_ERR_METHOD_NOT_ALLOWED' })
      return sendProblem(reply, doc, { allow: allowed.join(', ') })
    }
    return sendProblem(reply, problem(404, `No route ${request.method} ${path}`, request, { code: 'FVIEWS_ERR_ROUTE_NOT_FOUND' }))
  })

  // Requests Node cannot parse answer as problem documents too (the router's refusals need server options).
  problemsForClientErrors(app)
  refuseMissingHost(app)
  // JSON bodies are validated without type coercion; params, querystring and headers keep it.
  strictBodies(app)
  // An event-stream route refuses, with a 406, a request whose Accept excludes text/event-stream.
  negotiateEventStreams(app)

  // Event streams: their default heartbeat, and the drain that ends them when the app closes.
  streamRegistryOf(app, { heartbeatSeconds: options.heartbeatSeconds, drainMs: options.drainMs })

  if (options.cors !== undefined && options.cors !== false) {
    await app.register(cors, options.cors === true ? { origin: true } : options.cors)
  }
  await registerOpenAPI(app, options)
  return app
}
