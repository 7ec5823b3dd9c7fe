/**
 * The server's side of the client's watchdog: every event stream - a view's and a topic subscription's -
 * announces its heartbeat interval in the `heartbeat-interval` response header (seconds; 0 when off), and a
 * cross-origin answer lets the page's script read it (Access-Control-Expose-Headers).
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { createApp, ServerSideEventsView, SubscriptionView, ViewRouter } from '../../lib/index.js'
import type { TestContext } from '../helpers/context.js'

async function app (t: TestContext, options: object) {
  const instance = await createApp({ env: {}, fastify: { logger: false }, drainMs: 0, ...options })
  t.teardown(() => instance.close())
  const router = new ViewRouter()
  class Quiet extends ServerSideEventsView({ data: Type.Integer() }) {
    async * events () { yield { data: 1 } }
  }
  class Often extends ServerSideEventsView({ data: Type.Integer(), heartbeatSeconds: 0.5 }) {
    async * events () { yield { data: 1 } }
  }
  router.registerView(Quiet, { prefix: '/quiet' })
  router.registerView(Often, { prefix: '/often' })
  router.registerView(SubscriptionView(), { prefix: '/events' })
  router.registerView(SubscriptionView({ heartbeatSeconds: 0 }), { prefix: '/silent-events' })
  await instance.register(router.plugin)
  return instance.listen({ port: 0, host: '127.0.0.1' })
}

async function headersOf (url: string, headers: Record<string, string> = {}): Promise<Headers> {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  controller.abort()
  return response.headers
}

t.test("views and subscriptions announce their interval: the app's, their own, or 0", async (t) => {
  const base = await app(t, { heartbeatSeconds: 7 })
  t.equal((await headersOf(`${base}/quiet`)).get('heartbeat-interval'), '7', "the app's setting")
  t.equal((await headersOf(`${base}/often`)).get('heartbeat-interval'), '0.5', "the view's own")
  t.equal((await headersOf(`${base}/events?topic=a`)).get('heartbeat-interval'), '7')
  t.equal((await headersOf(`${base}/silent-events?topic=a`)).get('heartbeat-interval'), '0', 'no heartbeats: no watchdog')
  t.equal((await headersOf(`${base}/events?topic=a`)).get('access-control-expose-headers'), null, 'same-origin: nothing to expose')
})

t.test('cross-origin, the header is exposed to the page', async (t) => {
  const base = await app(t, { corsOrigins: ['http://page.example'] })
  const headers = await headersOf(`${base}/events?topic=a`, { origin: 'http://page.example' })
  t.equal(headers.get('access-control-allow-origin'), 'http://page.example')
  t.equal(headers.get('access-control-expose-headers'), 'heartbeat-interval')
})
