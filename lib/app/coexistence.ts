/**
 * How the plugin tells what the app already has, so it keeps it instead of replacing it or crashing:
 * - @fastify/swagger: its `swagger` decorator (`hasDecorator('swagger')`, the documented way to find a
 *   decorator), present once the app registered it before fastify-views. Registered after, it is found at
 *   startup (lib/openapi/swagger.ts), and its document is served.
 * - an error handler: `app.errorHandler` is Fastify's default until someone sets one; a child scope
 *   inherits its parent's. Ours is recognised by its name.
 * - a not-found handler: Fastify has no getter for it and refuses a second one per prefix, so the plugin
 *   tries to set its own and keeps the app's when Fastify says one is set.
 */
import Fastify, { type FastifyInstance, type RouteHandlerMethod } from 'fastify'
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'
import { OWN_DOCUMENT } from '../openapi/swagger.js'

/** The app's own @fastify/swagger, or the plugin's from a parent scope (see OWN_DOCUMENT). */
export function swaggerIsRegistered (app: FastifyInstance): boolean {
  return app.hasDecorator('swagger') || app.hasDecorator(OWN_DOCUMENT)
}

let fastifyDefaultErrorHandler: unknown
/** Fastify's own default error handler, read once from a throwaway instance (Fastify does not export it). */
function defaultErrorHandler (): unknown {
  fastifyDefaultErrorHandler ??= Fastify().errorHandler
  return fastifyDefaultErrorHandler
}

export type ErrorHandlerOwner = 'fastify' | 'fastify-views' | 'user'

export function errorHandlerOwner (app: FastifyInstance): ErrorHandlerOwner {
  const handler = app.errorHandler
  // By name as well: an app whose Fastify is another copy than the one fastify-views resolves.
  if (handler === defaultErrorHandler() || handler.name === 'defaultErrorHandler') return 'fastify'
  // setErrorHandler binds the function it is given: its name becomes 'bound <name>'.
  if (handler.name === 'bound problemErrorHandler') return 'fastify-views'
  return 'user'
}

const ALREADY_SET = 'Not found handler already set'

/**
 * Sets `handler` as the scope's not-found handler unless one is set already: then returns false, or,
 * when the handler is `required` (the user asked for `notFound: true`), stops startup saying what to do.
 */
export function setNotFoundHandlerUnlessSet (app: FastifyInstance, required: boolean, handler: RouteHandlerMethod): boolean {
  try {
    app.setNotFoundHandler(handler)
    return true
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith(ALREADY_SET)) throw error
    if (required) {
      throw new FVIEWS_ERR_OPTION_INVALID('notFound', `true, but this scope already has a not-found handler (${error.message}); leave notFound unset to keep yours, or remove yours`)
    }
    return false
  }
}
