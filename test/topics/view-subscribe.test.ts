/**
 * A view's own events() can use the broker's cursor machinery: `yield* this.app.broker.subscribe(...)`
 * with the view's signal and Last-Event-ID streams topic events with resume cursors, resumes exactly, and
 * still validates every event against the view's schema and sends only what the schema declares.
 */
import t from 'tap'
import { Type, type Static } from '@sinclair/typebox'
import { createApp, ServerSideEventsView, ViewRouter } from '../../lib/index.js'
import { listen } from '../helpers/http.js'
import { openStream } from '../helpers/sse-http.js'
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

// issue 11 #13: what leaves is what the view's data schema declares, on every path: a relayed broker
// message is serialised through the route's compiled serializer (once per message and route), not sent as
// the broker's JSON. Schemas that do not forbid extra properties, as a union and per event name.
const User = Type.Object({ id: Type.Integer(), name: Type.String() })
const Topics = Type.Object({ topics: Type.Array(Type.String()) })

class UsersUnion extends ServerSideEventsView({ data: Type.Union([User, Topics]), heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<Static<typeof User>>(['users'], { signal: this.signal, lastEventId: this.lastEventId })
  }
}

class UsersByEvent extends ServerSideEventsView({ events: { user: User, subscribed: Topics }, heartbeatSeconds: 0 }) {
  async * events () {
    for await (const event of this.app.broker.subscribe<Static<typeof User>>(['users'], { signal: this.signal, lastEventId: this.lastEventId })) {
      yield event as { event: 'user', data: Static<typeof User>, id: string }
    }
  }
}

for (const [name, view] of [['a union data schema', UsersUnion], ['a schema per event name', UsersByEvent]] as const) {
  t.test(`a relayed event carries only what ${name} declares: exact bytes, no passwordHash, for two clients of one message`, async (t) => {
    const app = await createApp({ env: {}, fastify: { logger: false }, drainMs: 0 })
    t.teardown(() => app.close())
    await app.register(new ViewRouter().registerView(view, { prefix: '/users' }).plugin)
    const base = await listen(app)
    const clients = await Promise.all([0, 1].map(() => openStream(base, '/users')))
    t.teardown(() => clients.forEach((client) => client.body.close()))
    await Promise.all(clients.map((client) => client.body.until('event: subscribed\n')))
    await app.broker.publish('users', 'user', { id: 7, name: 'Ada', passwordHash: '$argon2id$v=19$secret', role: 'admin' })
    const texts = await Promise.all(clients.map((client) => client.body.until('event: user\n').then(() => client.body.until('\n\n', 3))))
    for (const text of texts) {
      const ids = [...text.matchAll(/^id: (.+)$/gm)].map((match) => match[1])
      t.equal(ids.length, 2)
      t.equal(text, `: \n\nid: ${ids[0]}\nevent: subscribed\ndata: {"topics":["users"]}\n\nid: ${ids[1]}\nevent: user\ndata: {"id":7,"name":"Ada"}\n\n`)
      t.notMatch(text, /passwordHash|argon2|admin/)
    }
    t.equal(texts[0], texts[1], 'both clients got the same bytes')
  })
}

t.test('a relayed message is serialised once per route, however many clients the route streams it to', async (t) => {
  class AnyData extends ServerSideEventsView({ data: Type.Unknown(), heartbeatSeconds: 0 }) {
    async * events () {
      yield * this.app.broker.subscribe(['counted'], { signal: this.signal })
    }
  }
  const app = await createApp({ env: {}, fastify: { logger: false }, drainMs: 0 })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(AnyData, { prefix: '/a' }).registerView(class Other extends AnyData {}, { prefix: '/b' }).plugin)
  const base = await listen(app)
  const clients = await Promise.all(['/a', '/a', '/a', '/b', '/b'].map((path) => openStream(base, path)))
  t.teardown(() => clients.forEach((client) => client.body.close()))
  await Promise.all(clients.map((client) => client.body.until('event: subscribed\n')))
  // An unknown-data schema serialises with JSON.stringify: count its calls on the message's data.
  const stringify = JSON.stringify
  let calls = 0
  JSON.stringify = function (this: unknown, ...args: Parameters<typeof stringify>) {
    if ((args[0] as { marker?: unknown } | null)?.marker === 'count-me') calls++
    return stringify.apply(this, args)
  } as typeof stringify
  t.teardown(() => { JSON.stringify = stringify })
  await app.broker.publish('counted', 'tick', { marker: 'count-me' })
  await Promise.all(clients.map((client) => client.body.until('data: {"marker":"count-me"}\n\n')))
  JSON.stringify = stringify
  // One at publish (the broker's JSON), one per route.
  t.equal(calls, 3)
})
