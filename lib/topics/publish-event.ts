/**
 * publishEvent: after a handler succeeds, publish its result (or `extractData(result)`) to a topic.
 *
 *   class Tasks extends ModelViewSet({ ... }) {
 *     @publishEvent({ topic: 'tasks', event: 'task:created', extractData: (task) => ({ id: task.id }) })
 *     create (body: TaskCreate) { ... }
 *   }
 *   app.post('/comments', publishEvent({ topic: 'comments' })(async (request) => saveComment(request.body)))
 *
 * The publish is awaited before the answer leaves: a publish that fails turns the request into a 503
 * problem document (FVIEWS_ERR_BROKER_UNAVAILABLE), never a 2xx whose event vanished.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ServiceUnavailableError } from '../http-errors.js'
import { copyRouteTag } from '../views/actions.js'
import { inferTopicFromRoute } from '../broker/topics.js'
import type { View } from '../views/view.js'
import { GenericViewBase } from '../views/generic.js'
import type { StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig } from '../views/decorator-mode.js'

export interface PublishContext<R> {
  request: FastifyRequest
  result: R
  params: any
}

export interface PublishEventOptions<R = any> {
  /** A topic, several, a function of the request and result, or (omitted) inferred from the route template. */
  topic?: string | string[] | ((context: PublishContext<R>) => string | string[])
  /** Event name; defaults to the method's (or handler function's) name. */
  event?: string
  /** What to publish; defaults to the result itself. */
  extractData?: (result: R, context: PublishContext<R>) => unknown
}

interface Publisher { publish (topic: string, event: string, data: unknown): Promise<unknown> }

function topicsOf<R> (options: PublishEventOptions<R>, context: PublishContext<R>): string[] {
  const topic = typeof options.topic === 'function' ? options.topic(context) : options.topic
  if (topic === undefined) return [inferTopicFromRoute(context.request.routeOptions.url ?? context.request.url)]
  return Array.isArray(topic) ? topic : [topic]
}

/** Publishes after success; shared by the decorator and the handler wrapper. */
export async function publishResult<R> (options: PublishEventOptions<R>, event: string, request: FastifyRequest, result: R): Promise<void> {
  const broker = (request.server as unknown as { broker?: Publisher }).broker
  if (broker === undefined) throw new TypeError('publishEvent: the app has no broker; create it with createApp() or decorate app.broker')
  const context: PublishContext<R> = { request, result, params: request.params }
  const data = options.extractData === undefined ? result : options.extractData(result, context)
  try {
    for (const topic of topicsOf(options, context)) await broker.publish(topic, event, data)
  } catch (error) {
    request.log.error({ err: error, event }, 'publishEvent: the event could not be published')
    throw new ServiceUnavailableError(
      `The change was applied but its '${event}' event could not be published: ${(error as Error).message}`,
      { code: 'FVIEWS_ERR_BROKER_UNAVAILABLE', headers: { 'retry-after': '1' }, cause: error })
  }
}

/**
 * How a generic view's operations say "not found" (lib/views/generic.ts): retrieve and the updates with
 * null or undefined, destroy with false or null (undefined is a plain 204).
 */
function notFound (operation: string, result: unknown): boolean {
  if (operation === 'destroy') return result === false || result === null
  if (operation === 'retrieve' || operation === 'update' || operation === 'partialUpdate') return result === null || result === undefined
  return false
}

/**
 * What a decorated method or handler may return for the result type R the options are written for: R
 * (or a promise of it), or the "nothing happened" values that publish nothing. An explicit
 * `publishEvent<R>` that disagrees with the method is a compile error, not an event to `x:undefined`.
 */
export type PublishableResult<R> = R | null | undefined | false | Promise<R | null | undefined | false>

export type PublishableHandler<R> = (this: any, request: FastifyRequest, reply: FastifyReply) => PublishableResult<R> | FastifyReply | Promise<FastifyReply>

export function publishEvent<R = any> (options: PublishEventOptions<R> = {}) {
  function apply<This extends View, F extends (this: This, ...args: any[]) => PublishableResult<R>> (method: F, context: ClassMethodDecoratorContext<This, F>): F
  function apply<F extends PublishableHandler<R>> (handler: F): F
  function apply (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig
  function apply (target: any, context?: any, _descriptor?: unknown): any {
    const event = options.event ?? (context === undefined ? target.name : String(context.name)) ?? 'message'
    const wrapped = context === undefined
      ? async function publishingHandler (this: unknown, request: FastifyRequest, reply: FastifyReply) {
        const result = await target.call(this, request, reply)
        if (reply.statusCode < 400) await publishResult(options, event || 'message', request, result === reply ? undefined : result)
        return result
      }
      : async function publishingMethod (this: View, ...args: unknown[]) {
        const result = await target.apply(this, args)
        // A generic view's "not found" answers a 404: nothing changed, nothing to announce.
        if (this instanceof GenericViewBase && notFound(String(context.name), result)) return result
        await publishResult(options, event, this.request, result)
        return result
      }
    copyRouteTag(target, wrapped)
    return wrapped
  }
  return apply
}
