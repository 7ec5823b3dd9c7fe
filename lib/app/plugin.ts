/**
 * fastify-views as a Fastify plugin: `await app.register(fastifyViews, options)`. Every error leaves as an
 * RFC 9457 problem document, OpenAPI and Swagger UI are served, CORS is on when asked, open event streams
 * drain on close. It coexists with what the app already has: an error handler, a not-found handler,
 * @fastify/swagger or @fastify/cors registered before it are kept (see "Coexistence" in README.md), and
 * each part can be turned off. Register it before your routes, so that the OpenAPI generator and the 405
 * detector see every route.
 *
 * configureApp(app, options) is the same thing as a function call, kept for existing code.
 */
import type { FastifyInstance, FastifyPluginAsync, HTTPMethods } from 'fastify'
import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import FindMyWay from 'find-my-way'
import { isDeepStrictEqual } from 'node:util'
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'
import { kConfiguredScope } from '../symbols.js'
import { ProblemDetails, ValidationIssue, problem } from '../problem.js'
import { problemErrorHandler, sendProblem } from '../problem-reply.js'
import { addSharedSchema, registerOpenAPI } from '../openapi/swagger.js'
import { streamRegistryOf } from '../sse/registry.js'
import { checkPluginOptions, FASTIFY_REGISTER_OPTIONS, type FastifyViewsOptions } from './plugin-options.js'
import { errorHandlerOwner, setNotFoundHandlerUnlessSet, swaggerIsRegistered } from './coexistence.js'
import { documentAppAuthorize, mountTopics } from './topics-setup.js'
import { problemsForClientErrors, refuseMissingHost } from '../http/client-errors.js'
import { strictBodies } from '../http/validation.js'
import { negotiateEventStreams } from '../http/accept.js'

/** The options of configureApp are the plugin's. */
export type ConfigureAppOptions = FastifyViewsOptions

const PROBED_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

// Marks a scope the plugin has set up, with the options it was set up with: a second registration in the
// same scope changes nothing, so it must not carry options the first did not (they would be dropped).
declare module 'fastify' {
  interface FastifyInstance {
    /** @internal The options the plugin set this scope up with. */
    [kConfiguredScope]?: FastifyViewsOptions
  }
}

/** The options of a second registration that the first did not set to the same value (a broker by identity: two brokers look alike). */
function optionsDroppedBySecondRegistration (first: FastifyViewsOptions, second: FastifyViewsOptions): string[] {
  const firstValues = first as Record<string, unknown>
  return Object.entries(second as Record<string, unknown>)
    .filter(([name, value]) => value !== undefined && !FASTIFY_REGISTER_OPTIONS.has(name) &&
      !(name === 'broker' ? value === firstValues[name] : isDeepStrictEqual(value, firstValues[name])))
    .map(([name]) => name)
}

function installErrorHandler (app: FastifyInstance, wanted: boolean | undefined): void {
  if (wanted === false) return
  const owner = errorHandlerOwner(app)
  if (owner === 'fastify-views') return
  if (owner === 'user' && wanted !== true) {
    app.log.debug('fastify-views: this scope has its own error handler; it stays (set errorHandler: true to use problem documents)')
    return
  }
  app.setErrorHandler(problemErrorHandler)
}

function installNotFoundHandler (app: FastifyInstance, wanted: boolean | undefined): void {
  if (wanted === false) return
  // A private router that only knows which methods exist at which path: it turns a 404 into a 405.
  const known = FindMyWay()
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      try { known.on(method as any, route.url, () => {}) } catch { /* duplicate or constrained route: already known */ }
    }
  })
  const installed = setNotFoundHandlerUnlessSet(app, wanted === true, function problemNotFound (request, reply) {
    const path = request.url.split('?')[0]
    const allowed = PROBED_METHODS.filter((method) => known.find(method as any, path) !== null)
    if (allowed.length > 0) {
      const doc = problem(405, `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, request, { code: 'FVIEWS_ERR_METHOD_NOT_ALLOWED' })
      return sendProblem(reply, doc, { allow: allowed.join(', ') })
    }
    return sendProblem(reply, problem(404, `No route ${request.method} ${path}`, request, { code: 'FVIEWS_ERR_ROUTE_NOT_FOUND' }))
  })
  if (!installed) app.log.debug('fastify-views: a not-found handler is already set; it stays')
}

async function setUpScope (app: FastifyInstance, rawOptions: FastifyViewsOptions): Promise<void> {
  const options = checkPluginOptions(rawOptions)
  if (Object.prototype.hasOwnProperty.call(app, kConfiguredScope)) {
    const dropped = optionsDroppedBySecondRegistration(app[kConfiguredScope]!, options)
    if (dropped.length > 0) {
      throw new FVIEWS_ERR_OPTION_INVALID(dropped.join(', '), 'fastify-views is already registered in this scope with other options, and a second registration ' +
        'there changes nothing, so these would be dropped: register the plugin once with all its options, or register the second one inside a child scope ' +
        '(app.register(async (child) => { await child.register(fastifyViews, options) }))')
    }
    app.log.warn('fastify-views is already registered in this scope; the second registration changes nothing')
    return
  }
  app.decorate(kConfiguredScope, options)

  installErrorHandler(app, options.errorHandler)
  installNotFoundHandler(app, options.notFound)
  if (options.errorHandler !== false) {
    // Requests Node cannot parse answer as problem documents too (the router's refusals need server options).
    problemsForClientErrors(app)
    refuseMissingHost(app)
  }
  // JSON bodies are validated without type coercion; params, querystring and headers keep it.
  strictBodies(app)
  // An event-stream route refuses, with a 406, a request whose Accept excludes text/event-stream.
  negotiateEventStreams(app)
  documentAppAuthorize(app, options)

  // Event streams: their default heartbeat, and the drain that ends them when the app closes.
  streamRegistryOf(app, { heartbeatSeconds: options.heartbeatSeconds, drainMs: options.drainMs })

  if (options.cors !== undefined && options.cors !== false) {
    if (app.hasPlugin('@fastify/cors')) app.log.debug('fastify-views: @fastify/cors is already registered; it stays as configured')
    else await app.register(cors, options.cors === true ? { origin: true } : options.cors)
  }
  // The problem schemas, which error responses reference, with or without an OpenAPI document.
  addSharedSchema(app, ValidationIssue)
  addSharedSchema(app, ProblemDetails)
  if (options.openapi !== false) {
    if (swaggerIsRegistered(app)) app.log.debug('fastify-views: @fastify/swagger is already registered; the app\'s own OpenAPI setup stays')
    else await registerOpenAPI(app, options)
  }
  mountTopics(app, options)
}

/**
 * The plugin. `fastify-plugin` lets it decorate the scope it is registered in (the root, usually), so
 * every route of the app gets its error handling, its OpenAPI entry and the topic runtime.
 */
export const fastifyViews: FastifyPluginAsync<FastifyViewsOptions> = fp(setUpScope, { fastify: '5.x', name: 'fastify-views' })

export async function configureApp (app: FastifyInstance, options: ConfigureAppOptions = {}): Promise<FastifyInstance> {
  await app.register(fastifyViews, options)
  return app
}
