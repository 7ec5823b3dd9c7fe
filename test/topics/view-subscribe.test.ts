/**
 * A view's own events() can use the broker's cursor machinery: `yield* this.app.broker.subscribe(...)`
 * with the view's signal and Last-Event-ID streams topic events with resume cursors, resumes exactly, and
 * still validates every event against the view's schema (the broker's JSON is framed as is when valid).
 */
import t from 'tap'
import { Type, type Static } from '@sinclair/typebox'
import { createApp, ServerSideEventsView, ViewRouter } from '../../lib/index.js'
import { listen } from '../helpers/http.js'
import { SSEClient } from '../helpers/sse-client.js'

const Note = Type.Object({ n: Type.Integer() }, { additionalProperties: false })

class Notes extends ServerSideEventsView({ data: Type.Union([Note, Type.Object({ topics: Type.Array(Type.String()) })]), heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<Static<typeof Note>>(['notes'], { signal: this.signal, lastEventId: this.lastEventId })
  }
}

async function build (t: { teardown: (fn: () => unknown) => void }) {
  const app = await createApp({ env: {}, fastify: { logger: false }, drainMs: 0 })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(Notes, { prefix: '/notes' }).plugin)
  return { app, base: await listen(app) }
}

t.test('events from broker.subscribe() stream through a view with their cursors, and resume exactly', async (t) => {
  const { app, base } = await build(t)
  const first = new SSEClient(`${base}/notes`, { types: ['subscribed', 'note'] })
  t.teardown(() => first.close())
  await first.waitFor(1)
  for (let n = 1; n <= 3; n++) await app.broker.publish('notes', 'note', { n })
  const seen = await first.waitFor(4)
  t.same(seen.map((event) => [event.type, event.data]), [['subscribed', '{"topics":["notes"]}'], ['note', '{"n":1}'], ['note', '{"n":2}'], ['note', '{"n":3}']])
  first.close()
  for (let n = 4; n <= 6; n++) await app.broker.publish('notes', 'note', { n })
  const again = new SSEClient(`${base}/notes`, { types: ['subscribed', 'note'], headers: { 'last-event-id': seen[2].lastEventId } })
  t.teardown(() => again.close())
  const resumed = await again.waitFor(5)
  t.same(resumed.map((event) => [event.type, event.data]).slice(1), [['note', '{"n":3}'], ['note', '{"n":4}'], ['note', '{"n":5}'], ['note', '{"n":6}']],
    'exactly what was missed after the cursor of n=2')
})

t.test('a published event that does not match the view schema is not sent: an error frame, then the end', async (t) => {
  const { app, base } = await build(t)
  const client = new SSEClient(`${base}/notes`, { types: ['subscribed', 'note', 'error'] })
  t.teardown(() => client.close())
  await client.waitFor(1)
  await app.broker.publish('notes', 'note', { n: 1 })
  await app.broker.publish('notes', 'note', { n: 'two' })
  const [, one, failure] = await client.waitFor(3)
  t.same([one.type, one.data], ['note', '{"n":1}'])
  t.equal(failure.type, 'error')
  t.match(JSON.parse(failure.data), { status: 500, code: 'FVIEWS_ERR_SSE_INVALID_EVENT' })
})
