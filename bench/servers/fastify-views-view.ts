/**
 * fastify-views: a ServerSideEventsView whose `events()` yields per client - each stream iterates the
 * broker subscription itself (`yield* broker.subscribe(...)`) and every event goes through the view's
 * pull pipeline (validation, serialization, framing) once per client. `/burst` is a view yielding M
 * events as fast as the client reads them (the single-stream benchmark).
 */
import type { Server } from 'node:http'
import { Type } from '@sinclair/typebox'
import { createApp, ServerSideEventsView, ViewRouter } from '../../lib/index.js'
import { announce, exitOnSignal, lastSeq, listenOptions, nextTick, publishParams, stats } from '../lib/protocol.js'

const Tick = Type.Object({ seq: Type.Integer(), t: Type.Number(), p: Type.String() }, { $id: 'Tick' })

const app = await createApp({ env: {}, fastify: { logger: false }, docsPath: false, healthPath: false, drainMs: 0 })
let open = 0

class Ticks extends ServerSideEventsView({ data: Type.Unknown() }) {
  async * events () {
    open++
    try {
      yield * this.app.broker.subscribe(['bench'], { signal: this.signal })
    } finally {
      open--
    }
  }
}

class Burst extends ServerSideEventsView({ querystring: Type.Object({ m: Type.Integer({ minimum: 0 }), b: Type.Integer({ minimum: 0 }) }), data: Tick, events: ['tick'] }) {
  async * events () {
    const data = { seq: 0, t: 0, p: 'x'.repeat(Math.max(0, this.query.b - 24)) }
    for (let i = 0; i < this.query.m; i++) yield { event: 'tick', data, id: 0 }
  }
}

const router = new ViewRouter()
router.registerView(Ticks, { prefix: '/sse' }).registerView(Burst, { prefix: '/burst' })
await app.register(router.plugin)

app.post('/publish', async (request) => {
  const { k, b } = publishParams(request.query as Record<string, unknown>)
  for (let i = 0; i < k; i++) await app.broker.publish('bench', 'tick', nextTick(b))
  return { published: k, lastSeq: lastSeq() }
})

app.get('/stats', async () => stats(open))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
