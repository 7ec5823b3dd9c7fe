/**
 * A view class describes its routes as data (as DRF's routers do); the router turns each RouteSpec into
 * a Fastify route. View kinds (API, generic, SSE) differ only in how they produce these specs.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteShorthandOptions } from 'fastify'
import type { OperationSchema } from './types.js'

/**
 * A view instance bound to its request, as a route runs it: the instance side of the View class
 * (view.ts implements it). Declared here, below the View class, because a View lists its RouteSpecs:
 * a RouteSpec naming the View class was an import loop.
 */
export interface BoundView {
  request: FastifyRequest
  reply: FastifyReply
  params: unknown
  query: unknown
  headers: unknown
  body: unknown
  readonly app: FastifyInstance
  readonly log: FastifyBaseLogger
}

export interface RouteSpec {
  /** Operation name inside the view, used for the operationId: `list`, `get`, `customEvents`. */
  name: string
  method: HTTPMethods | HTTPMethods[]
  /** Path below the view's prefix: '' for the collection, '/:id' for the detail route. */
  path: string
  schema: OperationSchema & { params?: OperationSchema['querystring'] }
  /** Runs with a fresh view instance already bound to the request. */
  invoke: (view: BoundView, request: FastifyRequest, reply: FastifyReply) => unknown
  /** Extra Fastify route options (config, hooks, handlerTimeout...). */
  routeOptions?: RouteShorthandOptions
  /** Documented as text/event-stream rather than JSON. */
  stream?: boolean
  /**
   * Route options that depend on the instance the route is mounted on, and whatever the route needs there
   * (an event stream's: no compression, no HEAD route, no handler timeout, and the stream registry that
   * app.close() drains). The router calls it when it mounts the route; the registration's and the spec's
   * own `routeOptions` apply over it.
   */
  mountOptions?: (instance: FastifyInstance) => Record<string, unknown>
  /** A detail route gets a documented 404 problem. */
  detail?: boolean
  /**
   * A requirement the app must meet, checked when it is ready, in the scope the route was mounted in (a
   * subscription needs a broker): throws an error that says how to fix it. `where` names the route.
   */
  checkAtStartup?: (instance: FastifyInstance, where: string) => void
}
