/**
 * fastify-views: a ServerSideEventsView relaying the broker, the way the README shows a view of your own
 * fed from topics - `yield* this.app.broker.subscribe([...], { signal: this.signal, lastEventId: this.lastEventId })`.
 * Each stream iterates its own subscription, and every event goes through the view's pull pipeline
 * (validation, serialization, framing) once per client.
 */
import type { Server } from 'node:http'
import { Type } from '@sinclair/typebox'
import { createApp, ServerSideEventsView, ViewRouter } from '../../lib/index.js'
import { announce, exitOnSignal, listenOptions, stats } from '../lib/protocol.js'
import { publishRoute } from '../lib/broker-publish.js'

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

publishRoute(app)

app.get('/stats', async () => stats(open))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
