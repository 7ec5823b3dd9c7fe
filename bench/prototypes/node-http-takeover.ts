/**
 * A measurement, not a server to copy (issue 14, "what was tried"): how much of node:http's memory per idle
 * stream a socket takeover could set free. Like servers/node-http.ts, but once the head and the first chunk
 * are written, the response lets go of its socket (`res.detachSocket()`, which node:http calls itself when a
 * response finishes - a method it does not document) and the stream writes pre-chunked bytes to the socket.
 * The ServerResponse (with its header string) and its listeners become collectable; the IncomingMessage does
 * not: node:http keeps it in the connection's closure (`state.incoming`, shifted only when the response
 * finishes) and on the parser until then. Not in bench/servers.ts: run it with
 * `node --import tsx bench/memory-breakdown.ts --servers prototypes/node-http-takeover.ts`.
 */
import { createServer, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { announce, exitOnSignal, listenOptions, stats } from '../lib/protocol.js'

const clients = new Set<Socket>()
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'transfer-encoding': 'chunked' }

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x')
  if (req.method === 'GET' && url.pathname === '/sse') {
    res.writeHead(200, SSE_HEADERS)
    res.write(': ok\n\n')
    const socket = res.socket as Socket
    ;(res as ServerResponse & { detachSocket: (socket: Socket) => void }).detachSocket(socket)
    clients.add(socket)
    socket.once('close', () => clients.delete(socket))
    return
  }
  if (req.method === 'GET' && url.pathname === '/stats') {
    const text = JSON.stringify(stats(clients.size))
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
    return
  }
  res.writeHead(404).end()
})

exitOnSignal()
server.listen(listenOptions(), () => announce(server))
