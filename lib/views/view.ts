/**
 * The view base class. A view class is instantiated once per request and reaches the request, the
 * reply and the validated input through `this`: TypeScript does not type an overriding method's
 * parameters from its base (TypeScript#1373), but it does type `this` members, so that is where the
 * per-request data lives.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TObject } from '@sinclair/typebox'
import type { BoundView, RouteSpec } from './route-spec.js'
import type { SharedSchema } from './types.js'
import { collectActions } from './route-tags.js'

export class View implements BoundView {
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

  /** The routes this class serves; subclasses add their own kinds and keep the actions. */
  static collectRoutes (): RouteSpec[] {
    return collectActions(this)
  }

  /** Where detail actions live, relative to the view's prefix. */
  static detailPath = '/:id'

  /** The params schema of detail routes (generic views type `:id` with it). */
  static detailParams (): TObject | undefined {
    return undefined
  }
}

/** Binds a fresh view to its request; a function rather than a method so no hidden member leaks into user types. */
export function bindView (view: View, request: FastifyRequest, reply: FastifyReply): void {
  view.request = request
  view.reply = reply
  view.params = request.params
  view.query = request.query
  view.headers = request.headers
  view.body = request.body
}

/** Is `value` a class whose instances are views? */
export function isViewClass (value: unknown): value is typeof View {
  return typeof value === 'function' && (value === View || value.prototype instanceof View)
}

/** Any class whose instances are views and which can list its routes. */
export interface ViewClass<V extends View = View> {
  new (): V
  readonly name: string
  collectRoutes (): RouteSpec[]
}
