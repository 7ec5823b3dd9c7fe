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
import { joinPath, tagMethod, type ActionOptions } from './actions.js'
import type { View } from './view.js'
import { sseEndpoint } from '../sse/endpoint.js'
import type { EventOf, SSEContext, SSERouteDefinition } from '../sse/types.js'

type SSEMethod<S, This> = (this: This, ctx: SSEContext<S>) => AsyncIterable<EventOf<S>> | Promise<AsyncIterable<EventOf<S>>>

export function sseRoute<const S extends SSERouteDefinition = SSERouteDefinition> (path: string, definition?: S, options: ActionOptions = {}) {
  const routeDefinition: SSERouteDefinition = definition ?? {}
  return function decorate<This extends View, F extends SSEMethod<S, This>> (target: F, _context?: ClassMethodDecoratorContext<This, F>): F {
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
}
