/**
 * `@sseRoute(path, definition)`: a further SSE endpoint on any view class, CRUD views included, as
 * fastapi-views' `@sse_route`. The decorated method is an async generator (or an async function that
 * returns one: what it does before returning runs before anything is streamed).
 *
 *   class Tasks extends ModelViewSet({ ... }) {
 *     @sseRoute('/changes', { data: TaskChange, events: ['changed'] }, { detail: true })   // GET /tasks/:id/changes
 *     async * changes (ctx: SSEContext<...>) { yield* feed(ctx.params.id, ctx.signal) }
 *   }
 *
 * The decorator checks the method's yield type against the definition (a wrong `data` does not compile).
 */
import type { ActionOptions } from './actions.js'
import { joinPath, tagMethod } from './route-tags.js'
import type { View } from './view.js'
import { sseEndpoint } from './sse-endpoint.js'
import type { Member } from './types.js'
import type { EventOf, SSEContext, SSERouteDefinition } from './sse-types.js'
import type { StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig } from './decorator-mode.js'

/**
 * The context of the route: a detail route without params of its own gets the view's detail params
 * (a generic view's `:id`, typed by its `id` schema), as it does at run time.
 */
export type RouteContextOf<S, This, O> = O extends { detail: true }
  ? Member<S, 'params'> extends undefined ? SSEContext<S, This extends { params: infer P } ? P : Record<string, string>> : SSEContext<S>
  : SSEContext<S>

export type SSEMethod<S, This, O> = (this: This, ctx: RouteContextOf<S, This, O>) => AsyncIterable<EventOf<S>> | Promise<AsyncIterable<EventOf<S>>>

export function sseRoute<const S extends SSERouteDefinition = SSERouteDefinition, const O extends ActionOptions = {}> (path: string, definition?: S, options: O = {} as O) {
  const routeDefinition: SSERouteDefinition = definition ?? {}
  function decorate<This extends View, F extends SSEMethod<S, This, O>> (target: F, context?: ClassMethodDecoratorContext<This, F>): F
  function decorate (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig
  function decorate (target: any, _context?: unknown, _descriptor?: unknown): any {
    tagMethod(target, {
      build: (name, viewClass) => {
        const detail = options.detail === true
        return sseEndpoint({
          name,
          path: detail ? joinPath(viewClass.detailPath, path) : joinPath(path),
          definition: detail && routeDefinition.params === undefined ? { ...routeDefinition, params: viewClass.detailParams() } : routeDefinition,
          where: `${viewClass.name}.${name}`,
          detail,
          routeOptions: options.route,
          produce: (view, context) => (view as any)[name](context)
        })
      }
    })
    return target
  }
  return decorate
}
