/**
 * Type-level tests of the OpenAPI options and helpers. Each `@ts-expect-error` must be an error.
 */
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import fastifyViews, { describeEventStreams, openapiRefResolver, openapiTransformObject, OPENAPI_VERSION, type OpenAPIVersion } from '../../lib/index.js'

const app = Fastify()
await app.register(fastifyViews, { openapiVersion: '3.2.0', license: { name: 'MIT', identifier: 'MIT' }, servers: [{ url: '/' }], security: [] })
// @ts-expect-error the versions are '3.1.0' and '3.2.0'
await app.register(fastifyViews, { openapiVersion: '3.0.3' })
// @ts-expect-error a license has a name
await app.register(fastifyViews, { license: { identifier: 'MIT' } })

const version: OpenAPIVersion = OPENAPI_VERSION
// @ts-expect-error a version is one of the two
export const other: OpenAPIVersion = '3.1'

// The pass keeps the type of the document it describes.
const described: { openapi: string, paths: object } = describeEventStreams({ openapi: version, paths: {} })
// @ts-expect-error the document has no `servers` property here
export const servers = described.servers

await Fastify().register(swagger, { openapi: { openapi: '3.2.0' }, refResolver: openapiRefResolver, transformObject: openapiTransformObject })
