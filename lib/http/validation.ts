/**
 * Strict JSON bodies. Fastify's default Ajv coerces types in every part of a request (`coerceTypes:
 * 'array'`), so `POST /tasks {"title": 42}` creates a task titled "42". Params, querystring and headers
 * arrive as text and need that coercion; a JSON body carries its own types and must not be bent to fit.
 *
 * Fastify compiles each part of a route separately and tells the compiler which part it is (`httpPart`),
 * so one validator builder can hand bodies to an Ajv without coercion and everything else to one with it.
 * Both come from Fastify's own compiler pool (@fastify/ajv-compiler) with the server's `ajv` options
 * (customOptions, plugins) and the shared schemas added with addSchema, so `$ref`s and plugins work as
 * before. A `coerceTypes` the user set explicitly is their choice for every part; a validator compiler or
 * schemaController of their own is left alone.
 */
import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'

interface RouteSchema { schema: unknown, method?: string, url?: string, httpPart?: string, contentType?: string }

/** application/json and the structured-syntax `+json` types (RFC 6839). */
const JSON_MEDIA_TYPE = /^application\/([a-z0-9!#$&^_.-]+\+)?json\s*(;|$)/i
type Validate = (data: unknown) => unknown
type CompileValidator = (route: RouteSchema) => Validate
interface AjvServerOptions { customOptions?: Record<string, unknown>, plugins?: unknown[], [key: string]: unknown }
type BuildValidator = (externalSchemas: Record<string, unknown>, ajvOptions?: AjvServerOptions) => CompileValidator

/**
 * Fastify lowercases a header schema's property names itself, but only for its default compiler: any
 * other is given the schema as written. Requests' header names are lowercase, so do what it would have.
 */
function lowerCaseHeaderNames (schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema
  const source = schema as Record<string, unknown>
  const result: Record<string, unknown> = { ...source }
  if (source.properties !== null && typeof source.properties === 'object') {
    result.properties = Object.fromEntries(Object.entries(source.properties).map(([name, value]) => [name.toLowerCase(), value]))
  }
  if (Array.isArray(source.required)) result.required = source.required.map((name) => typeof name === 'string' ? name.toLowerCase() : name)
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(source[key])) result[key] = (source[key] as unknown[]).map(lowerCaseHeaderNames)
  }
  return result
}

/** A validator builder (Fastify's `schemaController.compilersFactory.buildValidator`) with strict bodies. */
export function strictBodyValidatorBuilder (): BuildValidator {
  const pool = AjvCompiler() as unknown as BuildValidator
  return function buildStrictBodyValidator (externalSchemas, ajvOptions = {}) {
    const customOptions = ajvOptions.customOptions ?? {}
    const coercing = pool(externalSchemas, { ...ajvOptions, customOptions })
    const strict = 'coerceTypes' in customOptions ? coercing : pool(externalSchemas, { ...ajvOptions, customOptions: { ...customOptions, coerceTypes: false } })
    return function compileStrictBody (route) {
      // A body schema declared for a text-based media type (an urlencoded form) keeps coercion: its values are text.
      if (route.httpPart === 'body') return route.contentType === undefined || JSON_MEDIA_TYPE.test(route.contentType) ? strict(route) : coercing(route)
      if (route.httpPart === 'headers') return coercing({ ...route, schema: lowerCaseHeaderNames(route.schema) })
      return coercing(route)
    }
  }
}

/** Server options for createApp: strict bodies, unless the caller brought their own validator builder. */
export function withStrictBodies<T extends FastifyServerOptions> (options: T): T {
  const own = options.schemaController?.compilersFactory?.buildValidator
  if (typeof own === 'function') return options
  return {
    ...options,
    schemaController: {
      ...options.schemaController,
      compilersFactory: { ...options.schemaController?.compilersFactory, buildValidator: strictBodyValidatorBuilder() as any }
    }
  }
}

/**
 * Whether the instance validates with something other than Fastify's default compiler: a builder passed
 * as `schemaController` to Fastify() or a compiler set with setValidatorCompiler. Fastify keeps that flag on
 * its (non-public) schema controller; if it cannot be read, a compiler already in place counts as the user's.
 */
function hasOwnValidator (app: FastifyInstance): boolean {
  const key = Object.getOwnPropertySymbols(app).find((symbol) => symbol.description === 'fastify.schemaController')
  const controller = key === undefined ? undefined : (app as unknown as Record<symbol, { isCustomValidatorCompiler?: unknown } | undefined>)[key]
  if (typeof controller?.isCustomValidatorCompiler === 'boolean') return controller.isCustomValidatorCompiler
  return app.validatorCompiler !== undefined
}

/**
 * For an instance created elsewhere (configureApp): strict bodies through Fastify's setSchemaController,
 * which keeps the instance's shared schemas - unless it already validates its own way.
 */
export function strictBodies (app: FastifyInstance): void {
  if (hasOwnValidator(app) || app.validatorCompiler !== undefined) return
  app.setSchemaController({ compilersFactory: { buildValidator: strictBodyValidatorBuilder() as any } })
}
