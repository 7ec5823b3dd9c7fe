/**
 * publishEvent: after a handler succeeds, publish its result (or `extractData(result)`) to a topic.
 *
 *   class Tasks extends ModelViewSet({ ... }) {
 *     @publishEvent({ topic: 'tasks', event: 'task:created', extractData: (task) => ({ id: task.id }) })
 *     create (body: TaskCreate) { ... }
 *   }
 *   app.post('/comments', publishEvent({ topic: 'comments' })(async (request) => saveComment(request.body)))
 *
 * The publish is awaited before the answer leaves, however the handler answers (a returned value, or
 * `reply.send(x)` now or from a callback: see held-answer.ts), and it publishes the body being sent. A
 * publish that fails turns the answer into a 503 problem document that says the change WAS applied
 * (FVIEWS_ERR_EVENT_NOT_PUBLISHED / FVIEWS_ERR_EVENT_UNCONFIRMED, `applied: true`) and sends no
 * Retry-After: repeating a non-idempotent request would apply it twice. Never a 2xx whose event vanished.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type HttpError, ServiceUnavailableError } from '../http-errors.js'
import { holdAnswer } from './held-answer.js'
import { copyRouteTag } from '../views/route-tags.js'
import { inferTopicFromRoute } from '../broker/topic-names.js'
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

interface Publisher { publish (topics: string[], event: string, data: unknown): Promise<unknown> }

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
  const topics = topicsOf(options, context)
  try {
    // One publish to all its topics: a client subscribed to several of them gets the event once.
    await broker.publish(topics, event, data)
  } catch (error) {
    request.log.error({ err: error, event, topics }, 'publishEvent: the change was applied but its event could not be published')
    throw changeAppliedEventNotPublished(event, topics, error)
  }
}

/**
 * Whether the broker could not tell if the event went out (sent, never confirmed) rather than knowing it
 * did not: the Redis broker marks its publish errors `published: false` or `published: 'unknown'`.
 */
function outcomeUnknown (error: unknown): boolean {
  return (error as { published?: unknown } | null | undefined)?.published === 'unknown'
}

/**
 * The answer to a change that was applied while its event was not (or maybe not) published. It says so
 * plainly and sends no Retry-After: the change must not be repeated, the client should read the state.
 * The broker's own words stay in the log: they may name backend internals.
 */
function changeAppliedEventNotPublished (event: string, topics: string[], error: unknown): HttpError {
  const unknown = outcomeUnknown(error)
  const what = unknown
    ? `whether its '${event}' event was published is unknown: the event broker did not confirm it`
    : `its '${event}' event could not be published: the event broker is unavailable`
  return new ServiceUnavailableError(`The change was applied, but ${what}. Do not repeat the request; read the current state instead.`, {
    code: unknown ? 'FVIEWS_ERR_EVENT_UNCONFIRMED' : 'FVIEWS_ERR_EVENT_NOT_PUBLISHED',
    extensions: { applied: true, publication: unknown ? 'unknown' : 'failed', event, topics },
    cause: error
  })
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

type RouteHandler = (this: any, request: FastifyRequest, reply: FastifyReply) => unknown

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}

/**
 * A handler that answered past Fastify's send (reply.hijack() and a raw write): its answer could not be
 * held, so publishing now would announce after the fact a body we never saw. Say so instead of guessing.
 */
function answeredAroundTheHold (hold: ReturnType<typeof holdAnswer>, request: FastifyRequest, event: string): undefined {
  hold.release()
  request.log.warn({ event }, 'publishEvent: the handler answered without reply.send (hijacked); nothing was published')
  return undefined
}

/**
 * A plain handler, answering through a held reply: whatever it answers with - a returned value, or
 * reply.send now or later - is published before Fastify sends it. Sync stays sync: a sync handler that
 * returns nothing sends later, as Fastify expects, and the hold waits for that send.
 */
function publishingHandlerOf (target: RouteHandler, options: PublishEventOptions, event: string): RouteHandler {
  return function publishingHandler (this: unknown, request: FastifyRequest, reply: FastifyReply) {
    const hold = holdAnswer(reply, async (body) => { await publishResult(options, event, request, body as any) })
    let result: unknown
    try {
      result = target.call(this, request, reply)
    } catch (error) {
      hold.release()
      throw error
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(async (value) => {
        // An async handler that returned `reply` resolves only once the answer left (reply.then), so a
        // value still undefined here is Fastify's empty answer - unless the handler already sent.
        if (hold.taken) await hold.finished()
        else if (reply.sent || reply.raw.headersSent) answeredAroundTheHold(hold, request, event)
        else await hold.send(value)
      }, (error: unknown) => {
        hold.release()
        throw error
      })
    }
    if (!hold.taken && (reply.sent || reply.raw.headersSent)) return answeredAroundTheHold(hold, request, event)
    if (result === undefined || result === reply) return hold.taken ? reply : result
    return hold.send(result)
  }
}

export function publishEvent<R = any> (options: PublishEventOptions<R> = {}) {
  function apply<This extends View, F extends (this: This, ...args: any[]) => PublishableResult<R>> (method: F, context: ClassMethodDecoratorContext<This, F>): F
  function apply<F extends PublishableHandler<R>> (handler: F): F
  function apply (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig
  function apply (target: any, context?: any, _descriptor?: unknown): any {
    const event = options.event ?? (context === undefined ? target.name : String(context.name)) ?? 'message'
    const wrapped = context === undefined
      ? publishingHandlerOf(target as RouteHandler, options, event || 'message')
      : async function publishingMethod (this: View, ...args: unknown[]) {
        const reply = this.reply as FastifyReply | undefined
        // A method may answer itself with this.reply.send(x): that answer is held until its event is published.
        const hold = reply === undefined ? undefined : holdAnswer(reply, async (body) => { await publishResult(options, event, this.request, body as any) })
        let result: unknown
        try {
          result = await target.apply(this, args)
        } catch (error) {
          hold?.release()
          throw error
        }
        if (hold?.taken === true) {
          await hold.finished()
          return reply
        }
        hold?.release()
        // A refusal (4xx) or a generic view's "not found" (a 404): nothing changed, nothing to announce.
        if (reply !== undefined && reply.statusCode >= 400) return result
        if (this instanceof GenericViewBase && notFound(String(context.name), result)) return result
        await publishResult(options, event, this.request, result as R)
        return result
      }
    copyRouteTag(target, wrapped)
    return wrapped
  }
  return apply
}
