/**
 * issue 11 #3: a view relaying `broker.subscribe()` whose relay overflows (its client never reads) must close
 * the connection, not end the stream politely behind bytes that will never be read: the server-side socket
 * is destroyed, the stream leaves the registry, the subscription is released, and a reader of the same view
 * that keeps up gets every event.
 */
import t from 'tap'
import type { Socket } from 'node:net'
import { Type, type Static } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { LogCapture, openStreams, rawRequest } from '../helpers/sse-http.js'
import { describe, noteKeys, notesOf } from '../helpers/ledger.js'
import { parseFrames, parseRawResponse } from '../helpers/sse-frames.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

const BUDGET = 16 * 1024
const PAD = 'x'.repeat(1000)
const Note = Type.Object({ topic: Type.String(), n: Type.Integer(), pad: Type.String() })
const Subscribed = Type.Object({ topics: Type.Array(Type.String()) })

class Relay extends ServerSideEventsView({ data: Type.Union([Note, Subscribed]), heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<Static<typeof Note>>(['relayed'], { signal: this.signal, lastEventId: this.lastEventId, budgetBytes: BUDGET })
  }
}

t.test('a relay that overflows closes the connection of a client that never reads, and unregisters the stream', async (t) => {
  const logs = new LogCapture()
  const { app, base } = await startApp(t, { views: { '/relay': Relay }, app: { historySize: 50_000, fastify: { logger: { level: 'warn', stream: logs } } } })
  const serverSockets = new Map<number, Socket>()
  app.server.on('connection', (socket: Socket) => serverSockets.set(socket.remotePort as number, socket))

  const reader = await StreamReader.open(base, '/relay')
  t.teardown(() => reader.close())
  const deaf = await rawRequest(base, '/relay') // sends the request, never reads
  t.teardown(() => deaf.socket.destroy())
  await until(() => app.broker.subscriberCount('relayed') === 2, 'two subscribers')
  await until(() => reader.frames.length === 1, 'the reader is subscribed')
  t.equal(openStreams(app), 2)

  // Batches of 16 events, each until the reader has them all: it keeps up; the deaf client falls behind
  // until its relay overflows. Bounded: far more than loopback's socket buffers hold.
  let published = 0
  while (openStreams(app) === 2) {
    if (published >= 40_000) throw new Error('the deaf client was never closed')
    for (let i = 0; i < 16; i++) await app.broker.publish('relayed', 'note', { topic: 'relayed', n: ++published, pad: PAD })
    await reader.waitForPublished(published, 'events', 20_000)
  }
  const serverSide = serverSockets.get(deaf.socket.localPort as number)
  await until(() => serverSide?.destroyed === true, 'the deaf client\'s socket is destroyed on the server')
  t.equal(openStreams(app), 1, 'only the reader\'s stream is registered')
  await until(() => app.broker.subscriberCount('relayed') === 1, 'its subscription is released')
  t.equal(logs.matching((line) => line.msg === 'event stream closed: the client reads too slowly').length, 1, 'closed as slow, once')
  t.same(logs.matching((line) => line.msg === 'event stream failed'), [], 'no error frame was attempted')

  for (let i = 0; i < 5; i++) await app.broker.publish('relayed', 'note', { topic: 'relayed', n: ++published, pad: PAD })
  await reader.waitForPublished(published)
  t.same(describe(reader.frames), ['subscribed {"topics":["relayed"]}', ...noteKeys(Array.from({ length: published }, (_, i) => ({ topic: 'relayed', n: i + 1 })))],
    'the reader that keeps up got every event, once, in order')
  t.equal(reader.ended, false)

  // The deaf client now reads what reached it before the close, up to the FIN, and resumes with the last
  // id it received: exactly the rest.
  const bytes: Buffer[] = []
  deaf.socket.on('data', (chunk: Buffer) => bytes.push(chunk))
  await deaf.closed
  const { frames } = parseFrames(parseRawResponse(Buffer.concat(bytes)).body)
  const received = notesOf(frames).length
  t.ok(received > 0 && received < published, `the deaf client had received ${received} of ${published} events`)
  const resumed = await StreamReader.open(base, '/relay', { 'last-event-id': frames[frames.length - 1].id as string })
  t.teardown(() => resumed.close())
  await resumed.waitForPublished(published - received, 'missed events', 20_000)
  t.same(describe(resumed.published), noteKeys(Array.from({ length: published - received }, (_, i) => ({ topic: 'relayed', n: received + i + 1 }))), 'exactly the missed events')
})
