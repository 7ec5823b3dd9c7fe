/**
 * Turns a RouteSpec's schema into a Fastify route schema: TypeBox schemas carrying an `$id` become
 * shared schemas (OpenAPI components named after their `$id`, never `def-N`), every error response is
 * documented as an RFC 9457 problem document, and each operation gets a stable operationId.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { FVIEWS_ERR_VIEW_INVALID } from '../errors.js'
import { PROBLEM_CONTENT_TYPE } from '../problem.js'
import type { RouteSpec } from '../views/route-spec.js'

const PROBLEM_REF = { $ref: 'ProblemDetails#' }
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: the problem document lists each failing value in `errors`',
  401: 'Authentication required',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Request body too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal error (details are logged with the request id, never sent)',
  503: 'Service unavailable'
}

export function problemResponse (status: number): Record<string, unknown> {
  return {
    description: ERROR_DESCRIPTIONS[status] ?? 'Error',
    content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_REF } }
  }
}

/**
 * Copies `schema`, replacing every sub-schema that has an `$id` by a `$ref` and adding it to
 * `instance` once. Two different schemas under one `$id` are refused: they would document wrongly.
 */
export function hoistNamedSchemas (instance: FastifyInstance | undefined, schema: unknown, where: string): unknown {
  if (Array.isArray(schema)) return schema.map((item) => hoistNamedSchemas(instance, item, where))
  if (schema === null || typeof schema !== 'object') return schema
  const source = schema as Record<string, unknown>
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(source)) {
    copy[key] = key === 'properties' || key === 'patternProperties' || key === '$defs' || key === 'definitions'
      ? Object.fromEntries(Object.entries(source[key] as object).map(([name, sub]) => [name, hoistNamedSchemas(instance, sub, where)]))
      : key === 'examples' || key === 'example' || key === 'default' || key === 'const' || key === 'enum' ? source[key] : hoistNamedSchemas(instance, source[key], where)
  }
  const id = source.$id
  if (typeof id !== 'string') return copy
  if (instance === undefined) throw new FVIEWS_ERR_VIEW_INVALID(where, `the schema '${id}' has an $id, which needs the app: mount this view with a ViewRouter`)
  const existing = instance.getSchema(id) as Record<string, unknown> | undefined
  if (existing === undefined) instance.addSchema(copy)
  else if (JSON.stringify(existing) !== JSON.stringify(copy)) {
    throw new FVIEWS_ERR_VIEW_INVALID(where, `two different schemas share the $id '${id}'; give each its own $id`)
  }
  return { $ref: `${id}#` }
}

export function operationId (viewName: string, name: string): string {
  const head = viewName.charAt(0).toLowerCase() + viewName.slice(1)
  return `${head}${name.charAt(0).toUpperCase()}${name.slice(1)}`.replace(/[^A-Za-z0-9_]/g, '_')
}

export interface SchemaContext {
  /** Where named (`$id`) schemas are added; without one (a route built before it meets an app), none may be named. */
  instance?: FastifyInstance
  viewName: string
  tags: string[]
}

export function buildRouteSchema (spec: RouteSpec, context: SchemaContext): FastifySchema {
  const where = `${context.viewName}.${spec.name}`
  const source = spec.schema
  const hoist = (value: unknown) => hoistNamedSchemas(context.instance, value, where)
  const schema: Record<string, unknown> = {}
  for (const part of ['params', 'querystring', 'headers', 'body'] as const) {
    if (source[part] !== undefined) schema[part] = hoist(source[part])
  }
  const response: Record<string, unknown> = {}
  for (const [status, body] of Object.entries(source.response ?? {})) {
    const documented = hoist(body) as Record<string, unknown>
    // Swagger uses a response schema's description as the response's: say more than "Default Response".
    response[status] = documented.description === undefined ? { ...documented, description: STATUS_CODES[Number(status)] ?? 'Response' } : documented
  }
  const errors = new Set<number>(source.errors ?? [])
  if (source.params !== undefined || source.querystring !== undefined || source.headers !== undefined || source.body !== undefined) errors.add(400)
  if (source.body !== undefined) { errors.add(415); errors.add(413) }
  if (spec.detail === true) errors.add(404)
  errors.add(500)
  for (const status of [...errors].sort()) {
    if (response[status] === undefined) response[status] = problemResponse(status)
  }
  schema.response = response
  const tags = [...new Set([...context.tags, ...(source.tags ?? [])])]
  if (tags.length > 0) schema.tags = tags
  if (source.summary !== undefined) schema.summary = source.summary
  if (source.description !== undefined) schema.description = source.description
  if (source.deprecated === true) schema.deprecated = true
  if (source.hide === true) schema.hide = true
  if (source.security !== undefined) schema.security = source.security
  schema.operationId = source.operationId ?? operationId(context.viewName, spec.name)
  return schema as FastifySchema
}
