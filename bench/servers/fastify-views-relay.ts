/**
 * fastify-views: a ServerSideEventsView relaying the broker, the way the README shows a view of your own
 * fed from topics - `yield* this.app.broker.subscribe([...], { signal: this.signal, lastEventId: this.lastEventId })`.
 * Each stream iterates its own subscription, and every event goes through the view's pull pipeline
 * (validation, serialization, framing) once per client.
 */
import type { Server } from 'node:http'
import { Type } from '@sinclair/typebox'
import { createApp, ServerSideEventsView, ViewRouter } from '../../lib/index.js'
import { announce, exitOnSignal, lastSeq, listenOptions, nextTick, publishParams, stats } from '../lib/protocol.js'

// maxConnections: every stream kind counts against it, and the bench holds up to the --scale N.
const app = await createApp({ env: {}, fastify: { logger: false }, docsPath: false, healthPath: false, maxConnections: 1_000_000, drainMs: 0 })
let open = 0

class Ticks extends ServerSideEventsView({ data: Type.Unknown() }) {
  async * events () {
    open++
    try {
      yield * this.app.broker.subscribe(['bench'], { signal: this.signal, lastEventId: this.lastEventId })
    } finally {
      open--
    }
  }
}

const router = new ViewRouter()
router.registerView(Ticks, { prefix: '/sse' })
await app.register(router.plugin)

// As in fastify-views.ts: publishes issued at once, awaited together (the broker keeps their order).
app.post('/publish', async (request) => {
  const { k, b } = publishParams(request.query as Record<string, unknown>)
  const published: Array<Promise<unknown>> = []
  for (let i = 0; i < k; i++) published.push(app.broker.publish('bench', 'tick', nextTick(b)))
  await Promise.all(published)
  return { published: k, lastSeq: lastSeq() }
})

app.get('/stats', async () => stats(open))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
