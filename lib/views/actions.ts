/**
 * Extra routes on a view: `@get('/path', schema)`, `@post`, `@put`, `@patch`, `@del`, and `@route`.
 * TC39 standard decorators: the decorator only tags the method (DRF's `@action` does the same) and the
 * router collects the tags later. `applyDecorators` offers every decorator without decorator syntax.
 */
import type { FastifyReply, FastifyRequest, HTTPMethods, RouteShorthandOptions } from 'fastify'
import type { TObject } from '@sinclair/typebox'
import type { MaybePromise, Member, OperationSchema, RouteContext, SuccessBody } from './types.js'
import { defaultStatus, sendResult } from './respond.js'
import { joinPath, tagMethod } from './route-tags.js'
import type { View } from './view.js'
import type { StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig } from './decorator-mode.js'

export interface ActionSchema extends OperationSchema {
  params?: TObject
}

export interface ActionOptions {
  /** Serve the action under the view's detail route (`/:id/<path>`), as DRF's `detail=True`. */
  detail?: boolean
  /** Further Fastify route options (hooks, config, bodyLimit...). */
  route?: Omit<RouteShorthandOptions, 'schema' | 'handler'>
}

/** The context an action method receives as its argument (also reachable through `this`). */
export type ActionContext<S extends ActionSchema = ActionSchema> = RouteContext<S> & {
  request: FastifyRequest
  reply: FastifyReply
}

export function actionContext (request: FastifyRequest, reply: FastifyReply): ActionContext<any> {
  return { params: request.params, query: request.query, headers: request.headers, body: request.body, request, reply } as ActionContext<any>
}

export type ActionMethod<S extends ActionSchema, This> =
  (this: This, ctx: ActionContext<S>) => MaybePromise<SuccessBody<Member<S, 'response'>>>

/** A general action decorator: any method(s), a path below the view's prefix, a schema. */
export function route<const S extends ActionSchema = ActionSchema> (
  method: HTTPMethods | HTTPMethods[], path: string, schema?: S, options: ActionOptions = {}
) {
  const operation: ActionSchema = schema ?? {}
  const status = defaultStatus(operation)
  function decorate<This extends View, F extends ActionMethod<S, This>> (target: F, context?: ClassMethodDecoratorContext<This, F>): F
  function decorate (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig
  function decorate (target: any, _context?: unknown, _descriptor?: unknown): any {
    tagMethod(target, {
      build: (name, viewClass) => ({
        name,
        method,
        path: options.detail === true ? joinPath(viewClass.detailPath, path) : joinPath(path),
        schema: options.detail === true && operation.params === undefined ? { ...operation, params: viewClass.detailParams() } : operation,
        detail: options.detail === true,
        routeOptions: options.route,
        invoke: async (view, request, reply) => {
          const result = await (view as any)[name](actionContext(request, reply))
          return sendResult(reply, result, status)
        }
      })
    })
    return target
  }
  return decorate
}

export const get = <const S extends ActionSchema = ActionSchema>(path: string, schema?: S, options?: ActionOptions) => route<S>('GET', path, schema, options)
export const post = <const S extends ActionSchema = ActionSchema>(path: string, schema?: S, options?: ActionOptions) => route<S>('POST', path, schema, options)
export const put = <const S extends ActionSchema = ActionSchema>(path: string, schema?: S, options?: ActionOptions) => route<S>('PUT', path, schema, options)
export const patch = <const S extends ActionSchema = ActionSchema>(path: string, schema?: S, options?: ActionOptions) => route<S>('PATCH', path, schema, options)
export const del = <const S extends ActionSchema = ActionSchema>(path: string, schema?: S, options?: ActionOptions) => route<S>('DELETE', path, schema, options)

export type MethodDecorator = (target: any, context?: any) => any

/**
 * Decorators without decorator syntax: `applyDecorators(Tasks, { archive: [post('/archive', schema)] })`.
 * Applied bottom-up, like stacked `@` decorators.
 */
export function applyDecorators (viewClass: { prototype: object }, decorators: Record<string, MethodDecorator[]>): void {
  for (const [name, list] of Object.entries(decorators)) {
    let method = (viewClass.prototype as any)[name]
    if (typeof method !== 'function') throw new TypeError(`applyDecorators: '${name}' is not a method of ${String((viewClass as any).name)}`)
    for (const decorator of [...list].reverse()) method = decorator(method, { kind: 'method', name }) ?? method
    Object.defineProperty(viewClass.prototype, name, { value: method, writable: true, configurable: true })
  }
}
