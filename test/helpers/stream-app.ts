/**
 * An app of the stream tests (bursts, slow readers, limits), as users build it: the built-in subscription
 * endpoint at /events and any views of the test, listening on loopback.
 */
import type { FastifyInstance } from 'fastify'
import { createApp, SubscriptionView, ViewRouter, type CreateAppOptions, type SubscriptionViewOptions, type ViewClass } from '../../lib/index.js'
import type { TestContext } from './context.js'
import { listen } from './http.js'

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
  return { app, base: await listen(app, { backlog: 2048 }) }
}
