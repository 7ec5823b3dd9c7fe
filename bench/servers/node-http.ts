/**
 * Baseline: plain node:http. A Set of responses; an event is framed once into a Buffer and the same Buffer
 * is written to every response (no per-client serialization, no backpressure handling). The practical
 * upper bound every other server is compared to.
 */
import { createServer, type ServerResponse } from 'node:http'
import { announce, exitOnSignal, frameTick, lastSeq, listenOptions, nextTick, publishParams, stats } from '../lib/protocol.js'

const clients = new Set<ServerResponse>()
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' }

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x')
  try {
    if (req.method === 'GET' && url.pathname === '/sse') {
      res.writeHead(200, SSE_HEADERS)
      res.write(': ok\n\n') // sends the head now
      clients.add(res)
      res.on('close', () => clients.delete(res))
      return
    }
    if (req.method === 'POST' && url.pathname === '/publish') {
      const { k, b } = publishParams(url.searchParams)
      for (let i = 0; i < k; i++) {
        const frame = Buffer.from(frameTick(nextTick(b)), 'latin1')
        for (const client of clients) client.write(frame)
      }
      return json(res, { published: k, lastSeq: lastSeq() })
    }
    if (req.method === 'GET' && url.pathname === '/stats') return json(res, stats(clients.size))
    if (req.method === 'GET' && url.pathname === '/burst') {
      void burst(res, publishParams(url.searchParams))
      return
    }
    res.writeHead(404).end()
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err))
  }
})

/** One stream to one client: M pre-framed events as fast as the socket takes them, then end. */
async function burst(res: ServerResponse, { m, b }: { m: number; b: number }): Promise<void> {
  res.writeHead(200, SSE_HEADERS)
  const body = JSON.stringify({ seq: 0, t: 0, p: '' })
  const pad = 'x'.repeat(Math.max(0, b - body.length))
  const frame = Buffer.from(`id: 0\nevent: tick\ndata: {"seq":0,"t":0,"p":"${pad}"}\n\n`, 'latin1')
  let i = 0
  let closed = false
  let wake: (() => void) | null = null
  res.on('drain', () => wake?.())
  res.once('close', () => {
    closed = true
    wake?.()
  })
  while (i < m && !closed) {
    while (i < m && res.write(frame)) i++
    if (i < m) {
      i++ // the write that returned false was queued
      if (i < m) await new Promise<void>((resolve) => (wake = resolve)) // 'drain' or 'close'
      wake = null
    }
  }
  res.end()
}

function json(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
}

exitOnSignal()
server.listen(listenOptions(), () => announce(server))
