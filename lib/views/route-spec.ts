/**
 * A view class describes its routes as data (as DRF's routers do); the router turns each RouteSpec into
 * a Fastify route. View kinds (API, generic, SSE) differ only in how they produce these specs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteShorthandOptions } from 'fastify'
import type { OperationSchema } from './types.js'
import type { View } from './view.js'

export interface RouteSpec {
  /** Operation name inside the view, used for the operationId: `list`, `get`, `customEvents`. */
  name: string
  method: HTTPMethods | HTTPMethods[]
  /** Path below the view's prefix: '' for the collection, '/:id' for the detail route. */
  path: string
  schema: OperationSchema & { params?: OperationSchema['querystring'] }
  /** Runs with a fresh view instance already bound to the request. */
  invoke: (view: View, request: FastifyRequest, reply: FastifyReply) => unknown
  /** Extra Fastify route options (config, hooks, handlerTimeout...). */
  routeOptions?: RouteShorthandOptions
  /** Documented as text/event-stream rather than JSON. */
  stream?: boolean
  /** A detail route gets a documented 404 problem. */
  detail?: boolean
  /**
   * A requirement the app must meet, checked when it is ready, in the scope the route was mounted in (a
   * subscription needs a broker): throws an error that says how to fix it. `where` names the route.
   */
  checkAtStartup?: (instance: FastifyInstance, where: string) => void
}

/** Any class whose instances are views and which can list its routes. */
export interface ViewClass<V extends View = View> {
  new (): V
  readonly name: string
  collectRoutes (): RouteSpec[]
}
