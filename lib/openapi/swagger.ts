/**
 * OpenAPI generation (@fastify/swagger) and Swagger UI, set up so the document is stable: components
 * are named after their TypeBox `$id` (never `def-N`), and the problem document is one shared component.
 */
import type { FastifyInstance } from 'fastify'
import type { FastifyDynamicSwaggerOptions, SwaggerOptions, SwaggerTransformObject } from '@fastify/swagger'
import { ProblemDetails, ValidationIssue } from '../problem.js'
import { describeEventStreams } from './event-streams.js'

export interface OpenAPIOptions {
  title?: string
  version?: string
  description?: string
  /** The document's servers (default `[{ url: '/' }]`: the server that serves the document, as OpenAPI reads an absent list). */
  servers?: Array<{ url: string, description?: string }>
  /** The API's license, e.g. `{ name: 'MIT', identifier: 'MIT' }` (an SPDX `identifier`, or a `url`). */
  license?: { name: string, identifier?: string, url?: string }
  /** Path of Swagger UI; the JSON document is served at `<path>/json`. `false` turns both off. */
  docsPath?: string | false
  /**
   * OpenAPI version of the generated document (default '3.1.0'). '3.2.0' describes each event stream with
   * `itemSchema` (one event: `{ data, event, id, retry }`, JSON data as `contentMediaType` +
   * `contentSchema`); docs/openapi.md measures which tools read which.
   */
  openapiVersion?: OpenAPIVersion
  /** Security schemes, e.g. `{ bearer: { type: 'http', scheme: 'bearer' } }` (Swagger UI then offers "Authorize"). */
  securitySchemes?: Record<string, Record<string, unknown>>
  /**
   * Security requirements of every operation unless it sets its own, e.g. `[{ bearer: [] }]`. Default `[]`:
   * no requirement, said explicitly (linters such as Redocly's `security-defined` ask every document to).
   */
  security?: Array<Record<string, string[]>>
}

export type OpenAPIVersion = '3.1.0' | '3.2.0'
export const OPENAPI_VERSIONS: readonly OpenAPIVersion[] = ['3.1.0', '3.2.0']
/** The default: see docs/openapi.md for the measurement it is chosen from. */
export const OPENAPI_VERSION: OpenAPIVersion = '3.1.0'

/**
 * The component naming the plugin gives @fastify/swagger: a schema with an `$id` is the component of that
 * name (Task, ProblemDetails), not `def-N`. Exported for an app that registers its own @fastify/swagger:
 * `app.register(swagger, { openapi: {...}, refResolver: openapiRefResolver })`.
 */
export const openapiRefResolver: NonNullable<FastifyDynamicSwaggerOptions['refResolver']> = {
  buildLocalReference (json, _baseUri, _fragment, index) {
    return typeof json.$id === 'string' ? json.$id : `schema${index}`
  }
}

/**
 * The document pass the plugin gives @fastify/swagger: event streams described for the document's version
 * (lib/openapi/event-streams.ts). Exported for an app that registers its own @fastify/swagger:
 * `app.register(swagger, { openapi: {...}, refResolver: openapiRefResolver, transformObject: openapiTransformObject })`.
 */
export const openapiTransformObject: SwaggerTransformObject = (object) =>
  'openapiObject' in object ? describeEventStreams(object.openapiObject) : object.swaggerObject

/**
 * Adds a schema the library's routes share. Fastify copies it into every child scope, and a router
 * mounted before the plugin already added its own copy there: Fastify then throws
 * FST_ERR_SCH_ALREADY_PRESENT after the schema is in this scope (test/app/coexistence.test.ts) - the
 * child has the same schema, so that is success.
 */
export function addSharedSchema (app: FastifyInstance, schema: { $id?: string }): void {
  if (app.getSchema(schema.$id as string) !== undefined) return
  try {
    app.addSchema(schema)
  } catch (error) {
    if ((error as { code?: string }).code !== 'FST_ERR_SCH_ALREADY_PRESENT') throw error
  }
}

/**
 * Registers the shared problem schemas, then @fastify/swagger and Swagger UI - unless `swagger: false`,
 * for an app that registered @fastify/swagger itself: its document (and UI, if any) are the app's.
 */
export async function registerOpenAPI (app: FastifyInstance, options: OpenAPIOptions & { swagger?: boolean }): Promise<void> {
  addSharedSchema(app, ValidationIssue)
  addSharedSchema(app, ProblemDetails)
  if (options.swagger === false) return
  // Imported here, not at the top: `import 'fastify-views'` loads neither @fastify/swagger nor its UI
  // (and their static assets) until an app turns docs on.
  const { default: swagger } = await import('@fastify/swagger')
  const swaggerOptions: SwaggerOptions = {
    openapi: {
      openapi: options.openapiVersion ?? OPENAPI_VERSION,
      info: {
        title: options.title ?? 'API',
        version: options.version ?? '1.0.0',
        ...(options.description === undefined ? {} : { description: options.description }),
        ...(options.license === undefined ? {} : { license: options.license })
      },
      servers: options.servers ?? [{ url: '/' }],
      ...(options.securitySchemes === undefined ? {} : { components: { securitySchemes: options.securitySchemes as any } }),
      security: options.security ?? []
    },
    refResolver: openapiRefResolver,
    // Event streams are described for the document's version once the whole document exists.
    transformObject: openapiTransformObject
  }
  await app.register(swagger, { ...swaggerOptions, decorator: OWN_DOCUMENT })
  const own = (app as unknown as Record<string, DocumentFunction>)[OWN_DOCUMENT]
  // The app may register its own @fastify/swagger after the plugin: it decorates `swagger` then, so ours
  // goes under a name of its own and `app.swagger` is decided once every plugin has loaded.
  let appsOwn: DocumentFunction | undefined
  app.addHook('onReady', async function decideSwaggerDecorator () {
    if (!app.hasDecorator('swagger')) {
      app.decorate('swagger', own as never)
      return
    }
    appsOwn = (app as unknown as { swagger: DocumentFunction }).swagger
    app.log.info('fastify-views: the app registered @fastify/swagger after the plugin; app.swagger() and Swagger UI serve the app\'s document')
  })
  const docsPath = options.docsPath
  if (docsPath !== false) {
    const { default: swaggerUi } = await import('@fastify/swagger-ui')
    // In a scope of its own: Swagger UI reads `swagger` there (whichever document is the app's), and its
    // own decorator (swaggerCSP) leaves the app free to register Swagger UI too, at another path.
    await app.register(async function fastifyViewsSwaggerUi (scope) {
      scope.decorate('swagger', function swagger (this: unknown, ...args: unknown[]) { return (appsOwn ?? own).apply(this, args) } as never)
      await scope.register(swaggerUi, { routePrefix: docsPath ?? '/docs' })
    })
  }
}

type DocumentFunction = (...args: unknown[]) => unknown

/** The decorator of the plugin's own @fastify/swagger (the app's is `swagger`); `app.swagger` is the document at startup. */
export const OWN_DOCUMENT = 'fastifyViewsOpenAPIDocument'
