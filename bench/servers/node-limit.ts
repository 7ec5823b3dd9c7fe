/**
 * The limit of Node: what any SSE server written in JavaScript on this runtime can at best do. Raw `node:net`
 * sockets, the HTTP/1.1 response head written by hand (chunked, like every other server here), and the events
 * of one turn of the event loop framed once into ONE pre-chunked Buffer (size line, every frame, CRLF) that
 * is written once to every socket at the end of the turn. No HTTP parser beyond the request line, no
 * per-client state but the socket, no backpressure handling: the floor that every other row is divided by.
 * The event bytes are exactly those of node-http (frameTick), so the load generator sees the same frames.
 */
import { createServer, type Socket } from 'node:net'
import { exitOnSignal, frameTick, lastSeq, listenOptions, nextTick, publishParams, stats } from '../lib/protocol.js'

const clients = new Set<Socket>()
const SSE_HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n'
// The head and the first body bytes (a comment) in one write: the load generator counts a stream as open
// once it has both.
const OPENING = Buffer.from(`${SSE_HEAD}${chunk(': ok\n\n')}`, 'latin1')

/** One HTTP/1.1 chunk: hex size line, data, CRLF (RFC 9112 section 7.1). */
function chunk (data: string): string {
  return `${Buffer.byteLength(data, 'latin1').toString(16)}\r\n${data}\r\n`
}

// The frames published during this turn, sent together by flush() once the turn's synchronous work is done.
let pending: string[] = []
let flushScheduled = false

function publish (frame: string): void {
  pending.push(frame)
  if (!flushScheduled) {
    flushScheduled = true
    setImmediate(flush)
  }
}

function flush (): void {
  flushScheduled = false
  const buffer = Buffer.from(chunk(pending.join('')), 'latin1')
  pending = []
  for (const socket of clients) socket.write(buffer)
}

function answer (socket: Socket, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  socket.end(`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`)
}

function route (socket: Socket, method: string, target: string): void {
  const url = new URL(target, 'http://x')
  if (method === 'GET' && url.pathname === '/sse') {
    socket.setNoDelay(true)
    socket.write(OPENING)
    clients.add(socket)
    socket.once('close', () => clients.delete(socket))
    return
  }
  try {
    if (method === 'POST' && url.pathname === '/publish') {
      const { k, b } = publishParams(url.searchParams)
      for (let i = 0; i < k; i++) publish(frameTick(nextTick(b)))
      return answer(socket, 200, { published: k, lastSeq: lastSeq() })
    }
    if (method === 'GET' && url.pathname === '/stats') return answer(socket, 200, stats(clients.size))
    answer(socket, 404, { error: 'not found' })
  } catch (err) {
    answer(socket, 400, { error: String(err) })
  }
}

const server = createServer((socket) => {
  let head = ''
  socket.on('error', () => socket.destroy())
  const onData = (data: Buffer): void => {
    head += data.toString('latin1')
    const end = head.indexOf('\r\n\r\n')
    if (end === -1) {
      if (head.length > 16_384) socket.destroy()
      return
    }
    // Only the request line matters; the requests of this protocol have no body (content-length: 0).
    socket.removeListener('data', onData)
    const [method = '', target = '/'] = head.slice(0, head.indexOf('\r\n')).split(' ')
    route(socket, method, target)
  }
  socket.on('data', onData)
})

exitOnSignal()
server.listen(listenOptions(), () => {
  const address = server.address()
  process.stdout.write(`ready ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
})
