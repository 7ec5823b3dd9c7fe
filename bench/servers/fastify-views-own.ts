/**
 * fastify-views: a ServerSideEventsView yielding its own events per client - no broker: each stream walks
 * an in-process log of published ticks and yields `{ event: 'tick', data, id }` itself, so every event is
 * validated against the Tick schema, serialised and framed once per client (the cost of per-client logic).
 * `/burst` is a view yielding M events as fast as the client reads them (the single-stream benchmark).
 */
import type { Server } from 'node:http'
import { Type, type Static } from '@sinclair/typebox'
import { createApp, ServerSideEventsView, ViewRouter } from '../../lib/index.js'
import { announce, exitOnSignal, lastSeq, listenOptions, nextTick, publishParams, stats } from '../lib/protocol.js'

const Tick = Type.Object({ seq: Type.Integer(), t: Type.Number(), p: Type.String() }, { $id: 'Tick' })

/** The ticks published so far (a bench run publishes a few hundred) and the streams waiting for the next. */
class TickLog {
  readonly ticks: Array<Static<typeof Tick>> = []
  private waiters: Array<() => void> = []

  push (tick: Static<typeof Tick>): void {
    this.ticks.push(tick)
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Resolves on the next push or when `signal` aborts. */
  next (signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve()
      const wake = (): void => {
        signal.removeEventListener('abort', wake)
        resolve()
      }
      this.waiters.push(wake)
      signal.addEventListener('abort', wake)
    })
  }
}

const log = new TickLog()
// maxConnections: every stream kind counts against it, and the bench holds up to the --scale N.
const app = await createApp({ env: {}, fastify: { logger: false }, docsPath: false, healthPath: false, maxConnections: 1_000_000, drainMs: 0 })
let open = 0

class Ticks extends ServerSideEventsView({ data: Tick, events: ['tick'] }) {
  private cursor = 0

  // Runs before the head is sent: from here on the stream sees every tick (the load generator publishes as
  // soon as it has the head).
  beforeStream (): void {
    this.cursor = log.ticks.length
  }

  async * events () {
    open++
    try {
      while (!this.signal.aborted) {
        while (this.cursor < log.ticks.length) {
          const tick = log.ticks[this.cursor++]
          yield { event: 'tick' as const, data: tick, id: tick.seq }
        }
        await log.next(this.signal)
      }
    } finally {
      open--
    }
  }
}

class Burst extends ServerSideEventsView({ querystring: Type.Object({ m: Type.Integer({ minimum: 0 }), b: Type.Integer({ minimum: 0 }) }), data: Tick, events: ['tick'] }) {
  async * events () {
    const data = { seq: 0, t: 0, p: 'x'.repeat(Math.max(0, this.query.b - 24)) }
    for (let i = 0; i < this.query.m; i++) yield { event: 'tick' as const, data, id: 0 }
  }
}

const router = new ViewRouter()
router.registerView(Ticks, { prefix: '/sse' }).registerView(Burst, { prefix: '/burst' })
await app.register(router.plugin)

app.post('/publish', async (request) => {
  const { k, b } = publishParams(request.query as Record<string, unknown>)
  for (let i = 0; i < k; i++) log.push(nextTick(b))
  return { published: k, lastSeq: lastSeq() }
})

app.get('/stats', async () => stats(open))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
