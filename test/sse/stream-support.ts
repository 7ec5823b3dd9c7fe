/**
 * Shared tools of the stream tests (bursts, slow readers, limits): an app as users build it, with the
 * built-in subscription endpoint at /events and any views of the test, listening on loopback.
 */
import type { FastifyInstance } from 'fastify'
import { createApp, SubscriptionView, ViewRouter, type CreateAppOptions, type SubscriptionViewOptions, type ViewClass } from '../../lib/index.js'

export interface TestContext { teardown: (fn: () => unknown) => void }

export interface StreamAppOptions {
  redisUrl?: string
  /** Options of the SubscriptionView at /events. */
  subscription?: SubscriptionViewOptions
  /** More views, by prefix. */
  views?: Record<string, ViewClass>
  app?: Partial<CreateAppOptions>
}

export async function startApp (t: TestContext, options: StreamAppOptions = {}): Promise<{ app: FastifyInstance, base: string }> {
  const app = await createApp({
    env: {},
    fastify: { logger: false },
    drainMs: 0,
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    ...options.app
  })
  t.teardown(() => app.close())
  const router = new ViewRouter().registerView(SubscriptionView(options.subscription ?? {}), { prefix: '/events' })
  for (const [prefix, view] of Object.entries(options.views ?? {})) router.registerView(view, { prefix })
  await app.register(router.plugin)
  await app.listen({ port: 0, host: '127.0.0.1', backlog: 2048 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { app, base: `http://127.0.0.1:${address.port}` }
}
