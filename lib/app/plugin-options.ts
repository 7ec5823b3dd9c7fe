/**
 * The options of the fastify-views plugin, checked once at registration: an unknown option or a value of
 * the wrong kind stops startup with FVIEWS_ERR_OPTION_INVALID naming the option and what it accepts, never
 * a request-time surprise. Each option is described once here: its TypeBox schema is the check, and its
 * text is the fix shown to the user.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { FastifyCorsOptions } from '@fastify/cors'
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'
import type { OpenAPIOptions } from '../openapi/swagger.js'
import type { StreamSettings } from '../sse/registry.js'
import type { Broker } from '../broker/broker.js'
import type { AuthorizeTopic, HeartbeatStyle } from '../topics/subscription-view.js'
import { closestName } from '../closest-name.js'

export interface FastifyViewsOptions extends OpenAPIOptions, StreamSettings {
  /**
   * `false`: neither @fastify/swagger nor Swagger UI is registered (default true). When the app already
   * registered @fastify/swagger itself, the plugin uses that one and registers neither.
   */
  openapi?: boolean
  /** `true` for permissive CORS (any origin), or @fastify/cors options. Skipped when @fastify/cors is already registered. */
  cors?: boolean | FastifyCorsOptions
  /**
   * Errors leave as RFC 9457 problem documents. Default: unless the scope already has an error handler of
   * its own (then that one stays); `false`: never; `true`: always (replacing one set in this scope).
   */
  errorHandler?: boolean
  /** Unknown routes answer a 404/405 problem document. Default: unless a not-found handler is already set; `false`: never. */
  notFound?: boolean
  /** Topic subscriptions' heartbeats as comments (default) or as `event: heartbeat` frames, for clients that listen for them. */
  heartbeat?: HeartbeatStyle
  /** The event broker of topic subscriptions and publishEvent, decorated as `app.broker`; the caller closes it. */
  broker?: Broker
  /** Most open topic streams before new ones get 503 + Retry-After (default unlimited). */
  maxConnections?: number
  /** The app's default check of every topic subscription (a subscription's own `authorize` wins). */
  authorize?: AuthorizeTopic
  /** Mount a topic subscription endpoint at this path (`GET <ssePath>?topic=a,b`), or false (default). */
  ssePath?: string | false
}

const path = Type.String({ pattern: '^/' })
const orFalse = (schema: TSchema) => Type.Union([schema, Type.Literal(false)])

/** Every option: its check, and what it accepts in words (the fix in the error message). */
const OPTIONS: Record<keyof FastifyViewsOptions, [TSchema, string]> = {
  title: [Type.String(), 'a string, the title of the OpenAPI document'],
  version: [Type.String(), "a string, the API's version in the OpenAPI document, e.g. '1.2.0'"],
  description: [Type.String(), 'a string, the description of the OpenAPI document'],
  servers: [Type.Array(Type.Object({ url: Type.String(), description: Type.Optional(Type.String()) })), "an array of { url, description? }, e.g. [{ url: 'https://api.example.com' }]"],
  docsPath: [orFalse(path), "a path starting with '/' (default '/docs'), or false for no Swagger UI"],
  openapiVersion: [Type.Union([Type.Literal('3.1.0'), Type.Literal('3.2.0')]), "'3.1.0' (default) or '3.2.0' (event streams described with itemSchema)"],
  license: [Type.Object({ name: Type.String(), identifier: Type.Optional(Type.String()), url: Type.Optional(Type.String()) }), "an OpenAPI license { name, identifier?, url? }, e.g. { name: 'MIT', identifier: 'MIT' }"],
  securitySchemes: [Type.Record(Type.String(), Type.Object({})), "an object of OpenAPI security schemes, e.g. { bearer: { type: 'http', scheme: 'bearer' } }"],
  security: [Type.Array(Type.Record(Type.String(), Type.Array(Type.String()))), 'an array of OpenAPI security requirements, e.g. [{ bearer: [] }]'],
  openapi: [Type.Boolean(), 'true or false (false: no OpenAPI document and no Swagger UI)'],
  cors: [Type.Union([Type.Boolean(), Type.Object({})]), 'true (any origin), false, or @fastify/cors options'],
  errorHandler: [Type.Boolean(), "true or false (false keeps Fastify's or your own error handler)"],
  notFound: [Type.Boolean(), "true or false (false keeps Fastify's or your own not-found handler)"],
  heartbeatSeconds: [Type.Number({ minimum: 0, maximum: 3600 }), 'a number of seconds from 0 (off) to 3600'],
  heartbeat: [Type.Union([Type.Literal('comment'), Type.Literal('event')]), "'comment' (default) or 'event' (an `event: heartbeat` frame)"],
  drainMs: [Type.Integer({ minimum: 0, maximum: 60_000 }), 'an integer of milliseconds from 0 to 60000'],
  broker: [Type.Object({}), 'a Broker, e.g. new MemoryBroker() or createBroker({ redisUrl })'],
  maxConnections: [Type.Integer({ minimum: 1, maximum: 10_000_000 }), 'an integer from 1 to 10000000'],
  authorize: [Type.Any(), 'a function (request, topic) => boolean | Promise<boolean>'],
  ssePath: [orFalse(path), "a path starting with '/', e.g. '/events', or false"]
}

// Fastify's own register options reach the plugin with the rest; they are Fastify's to check.
export const FASTIFY_REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])

export const PLUGIN_OPTION_NAMES: readonly string[] = Object.keys(OPTIONS)

function describe (value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  if (value === null || typeof value !== 'object') return String(value)
  return 'an object'
}

export function unknownOption (name: string, known: readonly string[], owner: string): InstanceType<typeof FVIEWS_ERR_OPTION_INVALID> {
  const guess = closestName(name, known)
  return new FVIEWS_ERR_OPTION_INVALID(name, `${owner} has no such option${guess === undefined ? '' : ` (did you mean '${guess}'?)`}; known options: ${known.join(', ')}`)
}

/**
 * Throws FVIEWS_ERR_OPTION_INVALID for the first unknown or ill-typed option. `extraNames` are accepted
 * unchecked (createApp checks its own); `hiddenNames` are left out of the list of known options.
 */
export function checkPluginOptions (options: unknown, extraNames: readonly string[] = [], hiddenNames: readonly string[] = []): FastifyViewsOptions {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FVIEWS_ERR_OPTION_INVALID('options', `expected an object of options, got ${describe(options)}`)
  }
  const known = [...new Set([...PLUGIN_OPTION_NAMES, ...extraNames])].filter((name) => !hiddenNames.includes(name))
  for (const [name, value] of Object.entries(options)) {
    if (FASTIFY_REGISTER_OPTIONS.has(name) || extraNames.includes(name)) continue
    const entry = OPTIONS[name as keyof FastifyViewsOptions]
    if (entry === undefined) throw unknownOption(name, known, 'fastify-views')
    // An option spelled out as undefined means "the default", as when it is left out.
    if (value === undefined) continue
    const [schema, accepts] = entry
    const ok = name === 'authorize' ? typeof value === 'function'
      : name === 'broker' ? typeof (value as Partial<Broker> | null)?.publish === 'function' && typeof (value as Partial<Broker>).join === 'function'
        : Value.Check(schema, value)
    if (!ok) throw new FVIEWS_ERR_OPTION_INVALID(name, `expected ${accepts}, got ${describe(value)}`)
  }
  return options as FastifyViewsOptions
}
