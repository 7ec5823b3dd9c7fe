/**
 * A view's pull loop gives the event loop a turn after each piece it writes. A relay holding a burst never
 * makes the loop wait, and a socket that takes every write at once never does either: without the turn, one
 * stream drained its whole burst in microtasks while every other connection of the process - timers, other
 * requests, the readers' own I/O - waited. (A relay by `yield*` pushes instead, as a SubscriptionView does -
 * test/sse/relay-push.test.ts; a `for await` loop, which may look at each event, is pulled.)
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

class Relay extends ServerSideEventsView({ data: Type.Unknown(), heartbeatSeconds: 0 }) {
  async * events () {
    for await (const event of this.app.broker.subscribe(['fair'], { signal: this.signal })) yield event
  }
}

t.test('a relay draining a burst lets the event loop turn between pieces', async (t) => {
  const { app, base } = await startApp(t, { views: { '/relay': Relay } })
  const reader = await StreamReader.open(base, '/relay')
  t.teardown(() => reader.close())
  await until(() => reader.frames.length === 1, 'subscribed')
  const EVENTS = 400
  const pad = 'x'.repeat(150)
  // ~80 KB in one turn: less than loopback's socket buffers take at once, so the socket never pushes back.
  await Promise.all(Array.from({ length: EVENTS }, (_, i) => app.broker.publish('fair', 'note', { n: i + 1, pad })))
  // Bytes the server has handed its socket so far (sent or queued in it).
  const [stream] = [...(app as any)[Symbol.for('fastify-views.stream-registry')].streams] as Array<{ reply: { raw: { socket: { bytesWritten: number } } } }>
  const written = (): number => stream.reply.raw.socket.bytesWritten
  const atNextTurn = await new Promise<number>((resolve) => setImmediate(() => resolve(written())))
  await reader.waitForPublished(EVENTS)
  const total = written()
  t.ok(atNextTurn < total, `when the event loop next turned, the stream had written ${atNextTurn} of its ${total} bytes`)
})
