/** The OpenAPI document of every example, as committed under openapi/. */
import type { FastifyInstance } from 'fastify'

export const EXAMPLES: Record<string, () => Promise<{ build: (options?: object) => Promise<FastifyInstance> }>> = {
  quickstart: () => import('../../examples/quickstart/app.js')
}

export async function documentOf (app: FastifyInstance): Promise<Record<string, unknown>> {
  await app.ready()
  return app.swagger() as unknown as Record<string, unknown>
}

export async function generateDocuments (): Promise<Array<{ name: string, text: string, document: Record<string, unknown> }>> {
  const out = []
  for (const [name, load] of Object.entries(EXAMPLES)) {
    const app = await (await load()).build({ logger: false })
    try {
      const document = await documentOf(app)
      out.push({ name, document, text: `${JSON.stringify(document, null, 2)}\n` })
    } finally {
      await app.close()
    }
  }
  return out
}
