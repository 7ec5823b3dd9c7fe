/**
 * The view base class. A view class is instantiated once per request and reaches the request, the
 * reply and the validated input through `this`: TypeScript does not type an overriding method's
 * parameters from its base (TypeScript#1373), but it does type `this` members, so that is where the
 * per-request data lives.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { RouteSpec } from './route-spec.js'
import type { SharedSchema } from './types.js'
import { collectActions } from './actions.js'

export const BIND = Symbol('fastify-views.bind')

export class View {
  /** The per-view schema shared by its routes; factories like `APIView(def)` set it. */
  static definition: SharedSchema = {}

  request!: FastifyRequest
  reply!: FastifyReply
  params: unknown
  query: unknown
  headers: unknown
  body: unknown

  get app (): FastifyInstance { return this.request.server }
  get log (): FastifyBaseLogger { return this.request.log }

  [BIND] (request: FastifyRequest, reply: FastifyReply): void {
    this.request = request
    this.reply = reply
    this.params = request.params
    this.query = request.query
    this.headers = request.headers
    this.body = request.body
  }

  /** The routes this class serves; subclasses add their own kinds and keep the actions. */
  static collectRoutes (): RouteSpec[] {
    return collectActions(this)
  }

  /** Where detail actions live, relative to the view's prefix. */
  static detailPath = '/:id'
}

/** Is `value` a class whose instances are views? */
export function isViewClass (value: unknown): value is typeof View {
  return typeof value === 'function' && (value === View || value.prototype instanceof View)
}
