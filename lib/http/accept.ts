/**
 * Content negotiation for event streams: an SSE route answers 406 (a problem document) to a request whose
 * Accept header excludes text/event-stream, instead of streaming to a client that said it cannot read it.
 * No Accept header, `*\/*` and `text/*` stream, as do browsers' navigation defaults and EventSource's own
 * `Accept: text/event-stream`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { FVIEWS_ERR_STREAM_NOT_ACCEPTABLE } from '../errors.js'
import { NotAcceptableError } from '../http-errors.js'
import { printableText } from '../problem.js'

const EVENT_STREAM = 'text/event-stream'

/**
 * Whether an Accept header admits text/event-stream (RFC 9110 §12.5.1,
 * https://www.rfc-editor.org/rfc/rfc9110#section-12.5.1): the most specific media range that matches it
 * decides, and its weight must be above 0. A header with no well-formed range is ignored, as the RFC allows.
 */
export function acceptsEventStream (accept: string | undefined): boolean {
  if (accept === undefined) return true
  let parsed = 0
  let best = -1 // specificity of the best match: 0 */*, 1 text/*, 2 text/event-stream
  let weight = 0
  for (const range of accept.split(',')) {
    const [mediaRange, ...parameters] = range.split(';')
    const match = /^\s*([!#$%&'*+.^_`|~0-9a-z-]+)\/([!#$%&'*+.^_`|~0-9a-z-]+)\s*$/i.exec(mediaRange)
    if (match === null) continue
    parsed++
    const type = match[1].toLowerCase()
    const subtype = match[2].toLowerCase()
    const specificity = type === '*' && subtype === '*' ? 0 : type === 'text' && subtype === '*' ? 1 : `${type}/${subtype}` === EVENT_STREAM ? 2 : -1
    if (specificity < best || specificity < 0) continue
    let q = 1
    for (const parameter of parameters) {
      const [name, value] = parameter.split('=').map((part) => part.trim())
      if (name.toLowerCase() === 'q' && value !== undefined && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value)) q = Number(value)
    }
    // Of equally specific ranges (`text/*;q=0, text/*`), the most generous wins.
    weight = specificity > best ? q : Math.max(weight, q)
    best = specificity
  }
  if (parsed === 0) return true
  return best >= 0 && weight > 0
}

/** A route that answers with an event stream: its 200 response documents text/event-stream content. */
function isEventStreamRoute (route: RouteOptions): boolean {
  const ok = (route.schema?.response as Record<string, { content?: Record<string, unknown> }> | undefined)?.[200]
  return ok?.content?.[EVENT_STREAM] !== undefined
}

function refuseUnacceptableStream (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
  const accept = request.headers.accept
  if (acceptsEventStream(accept)) return done()
  const refusal = new FVIEWS_ERR_STREAM_NOT_ACCEPTABLE(printableText(accept ?? '', 256))
  done(new NotAcceptableError(refusal.message, { code: refusal.code }))
}

/** Adds the Accept check to every event-stream route registered from now on in `app` and its children. */
export function negotiateEventStreams (app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!isEventStreamRoute(route)) return
    // First, before the route's own hooks (authentication...): refusing costs nothing and changes nothing.
    const own = route.onRequest === undefined ? [] : [route.onRequest].flat()
    route.onRequest = [refuseUnacceptableStream, ...own] as RouteOptions['onRequest']
  })
}
