/** The OpenAPI document of every example, as committed under openapi/ (`npm run openapi` writes them). */
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { OpenAPIVersion } from '../lib/index.js'

/** What every example's `build()` accepts; the documents are built from an empty environment. */
export interface ExampleBuildOptions {
  env?: Record<string, string | undefined>
  fastify?: FastifyServerOptions
  openapiVersion?: OpenAPIVersion
}

type ExampleModule = { build: (options: ExampleBuildOptions) => Promise<FastifyInstance> }

export const EXAMPLES: Record<string, () => Promise<ExampleModule>> = {
  quickstart: () => import('../examples/quickstart/app.js'),
  stocks: () => import('../examples/stocks/app.js'),
  'crm-comments': () => import('../examples/crm-comments/app.js')
}

export async function documentOf (app: FastifyInstance): Promise<Record<string, unknown>> {
  await app.ready()
  return app.swagger() as unknown as Record<string, unknown>
}

/** Every example's document: as committed (the default version), or in another OpenAPI version. */
export async function generateDocuments (options: { openapiVersion?: OpenAPIVersion } = {}): Promise<Array<{ name: string, text: string, document: Record<string, unknown> }>> {
  const out = []
  for (const [name, load] of Object.entries(EXAMPLES)) {
    // env: {} - the document must not depend on the machine it is generated on (REDIS_URL, CORS_ORIGINS...).
    const app = await (await load()).build({ env: {}, fastify: { logger: false }, ...options })
    try {
      const document = await documentOf(app)
      out.push({ name, document, text: `${JSON.stringify(document, null, 2)}\n` })
    } finally {
      await app.close()
    }
  }
  return out
}
