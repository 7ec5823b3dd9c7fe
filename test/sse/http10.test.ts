/**
 * issue 11 #19: an HTTP/1.0 request gets an answer HTTP/1.0 allows: no chunked encoding (1.0 has none),
 * `connection: close` rather than a keep-alive the response cannot honour, and a body that ends when the
 * connection closes. Checked on a raw socket, exact bytes of the head and of the body.
 */
import t from 'tap'
import { connect } from 'node:net'
import { Type } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

class Two extends ServerSideEventsView({ data: Type.Integer(), heartbeatSeconds: 0 }) {
  async * events () {
    yield { data: 1, id: '1' }
    yield { data: 2, id: '2' }
  }
}

/** Sends `request` on a raw socket and collects every byte until the server closes the connection. */
async function exchange (base: string, request: string, onData?: (text: string) => void): Promise<{ text: string, closed: Promise<void>, socket: import('node:net').Socket }> {
  const url = new URL(base)
  const socket = connect({ host: url.hostname, port: Number(url.port) })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const state = { text: '', closed: new Promise<void>((resolve) => socket.once('close', () => resolve())), socket }
  socket.on('data', (chunk: Buffer) => { state.text += chunk.toString('latin1'); onData?.(state.text) })
  socket.write(request)
  return state
}

const HEAD = (date: string) => 'HTTP/1.1 200 OK\r\n' +
  'content-type: text/event-stream; charset=utf-8\r\n' +
  'cache-control: no-cache, no-transform\r\n' +
  'x-accel-buffering: no\r\n' +
  'connection: close\r\n' +
  // The heartbeat interval these apps set (0: off), announced for fastify-views/client's watchdog.
  'heartbeat-interval: 0\r\n' +
  `Date: ${date}\r\n` +
  '\r\n'

function dateOf (text: string): string {
  return /\r\nDate: ([^\r]+)\r\n/.exec(text)?.[1] ?? 'no date header'
}

t.test('HTTP/1.0, a view: connection close, no chunked encoding, the body ends with the connection', async (t) => {
  const { base } = await startApp(t, { views: { '/two': Two } })
  const answer = await exchange(base, 'GET /two HTTP/1.0\r\n\r\n')
  await answer.closed
  t.equal(answer.text, `${HEAD(dateOf(answer.text))}: \n\nid: 1\ndata: 1\n\nid: 2\ndata: 2\n\n`)
})

t.test('HTTP/1.0, a subscription: the same head, events unframed on the wire', async (t) => {
  const { app, base } = await startApp(t, { subscription: { heartbeatSeconds: 0 } })
  let text = ''
  const answer = await exchange(base, 'GET /events?topic=news HTTP/1.0\r\n\r\n', (received) => { text = received })
  await until(() => text.includes('event: subscribed\n'), 'subscribed')
  await app.broker.publish('news', 'story', { n: 1 })
  await until(() => text.includes('event: story\n'), 'the event')
  const ids = [...text.matchAll(/^id: (.+)$/gm)].map((match) => match[1])
  t.equal(text, `${HEAD(dateOf(text))}: \n\nid: ${ids[0]}\nevent: subscribed\ndata: {"topics":["news"]}\n\nid: ${ids[1]}\nevent: story\ndata: {"n":1}\n\n`)
  answer.socket.destroy()
})

t.test('HTTP/1.1 keeps its keep-alive head (the control case)', async (t) => {
  const { base } = await startApp(t, { views: { '/two': Two } })
  let text = ''
  const answer = await exchange(base, 'GET /two HTTP/1.1\r\nhost: x\r\n\r\n', (received) => { text = received })
  await until(() => text.includes('\r\n0\r\n\r\n'), 'the last chunk')
  t.match(text, /^HTTP\/1\.1 200 OK\r\ncontent-type: text\/event-stream; charset=utf-8\r\ncache-control: no-cache, no-transform\r\nx-accel-buffering: no\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\nheartbeat-interval: 0\r\nDate: [^\r]+\r\n\r\n/)
  answer.socket.destroy()
})
