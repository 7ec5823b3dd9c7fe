/** Builds a configured app for a test and closes it in teardown. */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { configureApp, ViewRouter, type ConfigureAppOptions } from '../../lib/index.js'
import type { TestContext } from './context.js'

export async function buildApp (t: TestContext, register: (router: ViewRouter, app: FastifyInstance) => void | Promise<void>,
  options: { fastify?: FastifyServerOptions, configure?: ConfigureAppOptions } = {}): Promise<FastifyInstance> {
  const app = Fastify(options.fastify ?? {})
  t.teardown(() => app.close())
  await configureApp(app, { title: 'test', ...options.configure })
  const router = new ViewRouter()
  await register(router, app)
  await app.register(router.plugin)
  return app
}
