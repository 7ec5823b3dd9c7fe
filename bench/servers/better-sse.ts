/**
 * better-sse 0.16 with a Channel broadcast, as its README shows it (`createSession(req, res)`,
 * `channel.register(session)`, `channel.broadcast(data, eventName)`), mounted on Fastify through the raw
 * Node request/response (better-sse is framework-agnostic and takes Node's IncomingMessage/ServerResponse).
 * The broadcast passes the event id so `id:` carries the seq (otherwise better-sse sends a random UUID).
 * Sessions deregister themselves from the channel on disconnect.
 */
import Fastify from 'fastify'
import { createChannel, createSession } from 'better-sse'
import type { Server } from 'node:http'
import { announce, exitOnSignal, lastSeq, listenOptions, nextTick, publishParams, stats } from '../lib/protocol.js'

const channel = createChannel()
const app = Fastify({ logger: false })

app.get('/sse', async (request, reply) => {
  const session = await createSession(request.raw, reply.raw)
  channel.register(session)
})

app.post('/publish', async (request) => {
  const { k, b } = publishParams(request.query as Record<string, unknown>)
  for (let i = 0; i < k; i++) {
    const tick = nextTick(b)
    channel.broadcast(tick, 'tick', { eventId: String(tick.seq) })
  }
  return { published: k, lastSeq: lastSeq() }
})

app.get('/stats', async () => stats(channel.sessionCount))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
