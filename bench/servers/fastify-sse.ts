/**
 * @fastify/sse 0.6 as its README shows it: a route with `{ sse: true }`, `reply.sse.keepAlive()`, an initial
 * message, `reply.sse.send(message)` from outside the handler for every connected client and
 * `reply.sse.onClose()` for cleanup. The plugin has no broadcast helper, so publishing an event is one
 * `send()` per client; `send()` is async (it waits for 'drain' under backpressure), so each event is awaited
 * across all clients before the next one is published.
 */
import Fastify from 'fastify'
import fastifySSE, { type SSEReplyInterface } from '@fastify/sse'
import type { Server } from 'node:http'
import { announce, exitOnSignal, lastSeq, listenOptions, nextTick, publishParams, stats } from '../lib/protocol.js'

const clients = new Set<SSEReplyInterface>()
const app = Fastify({ logger: false })
await app.register(fastifySSE.default) // CJS package: the default import is module.exports (=== .default)

app.get('/sse', { sse: true }, async (_request, reply) => {
  // cast: fastify-sse-v2 (another bench server, same tsconfig program) also declares `reply.sse`
  const sse = reply.sse as unknown as SSEReplyInterface
  sse.keepAlive()
  clients.add(sse)
  sse.onClose(() => clients.delete(sse))
  await sse.send({ data: 'connected' })
})

app.post('/publish', async (request) => {
  const { k, b } = publishParams(request.query as Record<string, unknown>)
  for (let i = 0; i < k; i++) {
    const tick = nextTick(b)
    const message = { id: String(tick.seq), event: 'tick', data: tick }
    const sends: Promise<void>[] = []
    for (const sse of clients) if (sse.isConnected) sends.push(sse.send(message).catch(() => undefined))
    await Promise.all(sends)
  }
  return { published: k, lastSeq: lastSeq() }
})

app.get('/stats', async () => stats(clients.size))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
