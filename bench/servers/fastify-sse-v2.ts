/**
 * fastify-sse-v2 4.2 as its README shows it for broadcasts ("Sending events from EventEmitters"): one
 * EventEmitter for the topic, and per client `reply.sse(asyncIterable)` over `events.on(emitter, 'tick')`,
 * serializing the event inside the per-client generator (`data: JSON.stringify(event)`), with an
 * AbortController aborted on socket close for cleanup (the README's note). The `on()` iterator is created
 * before `reply.sse()` so the client is subscribed by the time the head (with `retry:`) reaches it.
 */
import Fastify from 'fastify'
import { FastifySSEPlugin } from 'fastify-sse-v2'
import { EventEmitter, on } from 'node:events'
import type { Server } from 'node:http'
import { announce, exitOnSignal, lastSeq, listenOptions, nextTick, publishParams, stats, type Tick } from '../lib/protocol.js'

const topic = new EventEmitter()
topic.setMaxListeners(0)
let connections = 0

const app = Fastify({ logger: false })
await app.register(FastifySSEPlugin)

app.get('/sse', (request, reply) => {
  const abort = new AbortController()
  connections++
  request.socket.on('close', () => {
    connections--
    abort.abort()
  })
  const ticks = on(topic, 'tick', { signal: abort.signal })
  reply.sse(
    (async function* () {
      try {
        for await (const [tick] of ticks as AsyncIterable<[Tick]>) {
          yield { id: String(tick.seq), event: 'tick', data: JSON.stringify(tick) }
        }
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err
      }
    })()
  )
})

app.post('/publish', async (request) => {
  const { k, b } = publishParams(request.query as Record<string, unknown>)
  for (let i = 0; i < k; i++) topic.emit('tick', nextTick(b))
  return { published: k, lastSeq: lastSeq() }
})

app.get('/stats', async () => stats(connections))

exitOnSignal()
await app.listen(listenOptions())
announce(app.server as Server)
