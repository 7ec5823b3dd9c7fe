/**
 * issue 11 #11: `maxConnections` is one limit per process on open event streams of every kind. A slot is
 * reserved before anything is awaited (an async `authorize`, a view's `beforeStream()`), so concurrent
 * requests cannot all slip under the limit, and it comes back on every exit path: refused, failed, closed.
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { ForbiddenError, ServerSideEventsView } from '../../lib/index.js'
import { http } from '../helpers/http.js'
import { openStream, openStreams, type OpenedStream } from '../helpers/sse-http.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

const LIMIT = 5
const REQUESTS = 40
const PROBLEM = 'application/problem+json; charset=utf-8'
const randomDelay = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 30)))

// In a round of denied requests, each refusal waits at this gate, holding its slot, until one request of the
// round has been answered 503: the round sees both answers however the machine schedules the requests (with
// the random delay alone, a loaded machine answered a round one request at a time: 403s only).
let denials: { wait: () => Promise<void>, open: () => void } | undefined
function denialRound (): { wait: () => Promise<void>, open: () => void } {
  let open = (): void => {}
  const opened = new Promise<void>((resolve) => { open = resolve })
  return { wait: () => opened, open }
}

class Ticker extends ServerSideEventsView({ data: Type.Integer(), heartbeatSeconds: 0 }) {
  async beforeStream () {
    await randomDelay()
    if (this.request.headers['x-deny'] === 'yes') {
      await denials?.wait()
      throw new ForbiddenError('not this one')
    }
  }

  async * events () {
    yield { data: 1, id: '1' }
    await new Promise((resolve) => this.signal.addEventListener('abort', resolve, { once: true }))
  }
}

function overCapacity (t: { same: (found: unknown, wanted: unknown) => unknown }, answer: { status: number, headers: Record<string, unknown>, text: string }, instance: string): void {
  t.same([answer.status, answer.headers['content-type'], answer.headers['retry-after']], [503, PROBLEM, '2'])
  t.same(JSON.parse(answer.text), {
    type: 'about:blank',
    title: 'Service Unavailable',
    status: 503,
    detail: 'This instance holds as many streams as it may; retry shortly',
    instance,
    code: 'FVIEWS_ERR_OVER_CAPACITY'
  })
}

/** Opens `count` streams at once; resolves with the admitted ones (open) and the refused answers. */
async function burstOfRequests (base: string, path: string, count: number, headers: Record<string, string> = {}) {
  const answers = await Promise.all(Array.from({ length: count }, () => openStream(base, path, headers)))
  const admitted: OpenedStream[] = []
  const refused: Array<{ status: number, headers: Record<string, unknown>, text: string }> = []
  for (const answer of answers) {
    if (answer.status === 200) {
      admitted.push(answer)
      await answer.body.until('data: 1\n\n')
    } else {
      refused.push({ status: answer.status, headers: answer.headers, text: await answer.body.all() })
    }
  }
  return { admitted, refused }
}

for (const kind of ['SubscriptionView', 'ServerSideEventsView'] as const) {
  t.test(`${kind}: ${REQUESTS} concurrent requests with an async pre-stream step against a limit of ${LIMIT}: exactly ${LIMIT} open`, async (t) => {
    const { app, base } = await startApp(t, {
      subscription: { authorize: async () => { await randomDelay(); return true } },
      views: { '/ticker': Ticker },
      app: { maxConnections: LIMIT }
    })
    const path = kind === 'SubscriptionView' ? '/events?topic=news' : '/ticker'
    const publisher = setInterval(() => { void app.broker.publish('news', 'x', 1) }, 20)
    t.teardown(() => clearInterval(publisher))
    const subscribedOr = (stream: OpenedStream) => kind === 'SubscriptionView' ? stream.body.until('event: subscribed\n') : stream.body.until('data: 1\n\n')

    const answers = await Promise.all(Array.from({ length: REQUESTS }, () => openStream(base, path)))
    const admitted = answers.filter((answer) => answer.status === 200)
    t.equal(admitted.length, LIMIT, 'exactly the limit was admitted')
    for (const answer of answers.filter((answer) => answer.status !== 200)) overCapacity(t, { status: answer.status, headers: answer.headers, text: await answer.body.all() }, kind === 'SubscriptionView' ? '/events' : '/ticker')
    await Promise.all(admitted.map(subscribedOr))
    t.equal(openStreams(app), LIMIT)

    // Slots come back when streams close: two close, exactly two more are admitted.
    admitted[0].body.close()
    admitted[1].body.close()
    await until(() => openStreams(app) === LIMIT - 2, 'two streams closed')
    const again = await Promise.all(Array.from({ length: 10 }, () => openStream(base, path)))
    t.same(again.map((answer) => answer.status).sort(), [200, 200, ...Array(8).fill(503)])
    for (const answer of again) if (answer.status !== 200) await answer.body.all()
    const reopened = again.filter((answer) => answer.status === 200)
    await Promise.all(reopened.map(subscribedOr))
    t.equal(openStreams(app), LIMIT)
    for (const stream of [...admitted.slice(2), ...reopened]) stream.body.close()
    await until(() => openStreams(app) === 0, 'every stream closed')
  })
}

t.test('the limit is shared by every kind of stream, and refused or failed requests give their slot back', async (t) => {
  const { app, base } = await startApp(t, {
    subscription: {
      authorize: async (request) => {
        await randomDelay()
        if (request.headers['x-deny'] !== 'yes') return true
        await denials?.wait()
        return false
      }
    },
    views: { '/ticker': Ticker },
    app: { maxConnections: LIMIT }
  })
  // Requests refused after their slot was reserved (403 from authorize or from beforeStream) return it.
  for (let i = 0; i < 3; i++) {
    const round = denialRound()
    denials = round
    const answered = <A extends { status: number }>(answer: A): A => { if (answer.status === 503) round.open(); return answer }
    const denied = await Promise.all([
      ...Array.from({ length: 10 }, () => http(base, 'GET', '/events?topic=news', { headers: { 'x-deny': 'yes' } }).then(answered)),
      ...Array.from({ length: 10 }, () => http(base, 'GET', '/ticker', { headers: { 'x-deny': 'yes' } }).then(answered))
    ])
    denials = undefined
    t.same(new Set(denied.map((answer) => answer.status)), new Set([403, 503]), 'denied (or over capacity while the others held their slots)')
  }
  await until(() => (app as any)[Symbol.for('fastify-views.stream-registry')].admitted === 0, 'every reserved slot is back')

  const views = await burstOfRequests(base, '/ticker', 3)
  t.equal(views.admitted.length, 3)
  const subscriptions = await Promise.all(Array.from({ length: 4 }, () => openStream(base, '/events?topic=news')))
  t.same(subscriptions.map((answer) => answer.status).sort(), [200, 200, 503, 503], 'the subscriptions share the limit with the views')
  for (const answer of subscriptions) if (answer.status !== 200) overCapacity(t, { status: answer.status, headers: answer.headers, text: await answer.body.all() }, '/events')
  const more = await burstOfRequests(base, '/ticker', 1)
  t.same([more.admitted.length, more.refused.length], [0, 1])
  overCapacity(t, more.refused[0], '/ticker')
  for (const stream of [...views.admitted, ...subscriptions.filter((answer) => answer.status === 200)]) stream.body.close()
  await until(() => openStreams(app) === 0, 'every stream closed')
})
