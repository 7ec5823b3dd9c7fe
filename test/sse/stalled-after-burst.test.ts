/**
 * A reader that stops right after one burst written in a single turn, on a topic that then stays quiet:
 * the budget is checked when a turn's first write opens a batch, and no later write came, so the whole
 * burst stayed buffered for such a reader for good (10 readers x 60,000 events held 14.5 MB each against
 * a 1 MiB budget, found by an outside review). The heartbeat sweep checks the budget too: a stream silent
 * for a heartbeat interval whose client still has not taken more than its budget is closed as slow (its
 * client then resumes from history like any slow one: test/delivery/slow-client.test.ts).
 */
import t from 'tap'
import { LogCapture, openStreams, rawRequest } from '../helpers/sse-http.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

const BUDGET = 64 * 1024
const PAD = 'x'.repeat(200)

t.test('a reader stalled after a one-turn burst is closed within a heartbeat interval, with no further event', async (t) => {
  const logs = new LogCapture()
  const { app, base } = await startApp(t, {
    subscription: { budgetBytes: BUDGET, heartbeatSeconds: 0.5 },
    app: { fastify: { logger: { level: 'warn', stream: logs } } }
  })
  const deaf = await rawRequest(base, '/events?topic=quiet') // sends the request, never reads
  t.teardown(() => deaf.socket.destroy())
  await until(() => app.broker.subscriberCount('quiet') === 1, 'subscribed')
  const count = 20_000 // ~5 MB: far more than loopback's socket buffers and the budget together
  await Promise.all(Array.from({ length: count }, (_, i) => app.broker.publish('quiet', 'note', { topic: 'quiet', n: i + 1, pad: PAD })))
  // No event follows: only the sweep can find it.
  await until(() => openStreams(app) === 0, 'the stalled stream is closed', 10_000)
  t.equal(logs.matching((line) => line.msg === 'event stream closed: the client reads too slowly').length, 1, 'closed as slow, once')

})
