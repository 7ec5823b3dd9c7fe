/**
 * Every event stream is counted, not only topic subscriptions (outside review): a ServerSideEventsView's own
 * events, a view relaying broker.subscribe() and a subscription, each by its route's URL template (never the
 * request's URL or its topics), opened and closed by reason - finished, client, slow, error, shutdown - in
 * the exact Prometheus text of /metrics, the same samples through prom-client, and in app.topicMetrics.
 */
import t from 'tap'
import { Type, type Static } from '@sinclair/typebox'
import { Registry } from 'prom-client'
import { ServerSideEventsView, TopicMetrics } from '../../lib/index.js'
import { http } from '../helpers/http.js'
import { openStream, openStreams, rawRequest } from '../helpers/sse-http.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { startApp } from '../helpers/stream-app.js'
import { until } from '../helpers/wait.js'

const BUDGET = 16 * 1024
const PAD = 'x'.repeat(1000)
const Note = Type.Object({ n: Type.Integer(), pad: Type.String() })
const Subscribed = Type.Object({ topics: Type.Array(Type.String()) })

class Finite extends ServerSideEventsView({ data: Type.Integer(), heartbeatSeconds: 0 }) {
  async * events () { yield { data: 1, id: 1 }; yield { data: 2, id: 2 } }
}
class Failing extends ServerSideEventsView({ data: Type.Integer(), heartbeatSeconds: 0 }) {
  async * events () {
    yield { data: 1, id: 1 }
    throw new Error('the source broke')
  }
}
class Relay extends ServerSideEventsView({ data: Type.Union([Note, Subscribed]), heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<Static<typeof Note>>(['relayed'], { signal: this.signal, lastEventId: this.lastEventId, budgetBytes: BUDGET })
  }
}

const HELP = {
  open: "# HELP fastify_views_open_streams Open event streams by route, every kind (views' own, relays of broker.subscribe(), topic subscriptions)\n# TYPE fastify_views_open_streams gauge",
  opened: '# HELP fastify_views_streams_opened_total Event streams opened, by route\n# TYPE fastify_views_streams_opened_total counter',
  closed: '# HELP fastify_views_streams_closed_total Event streams closed, by route and reason: finished (the source ended), client (the client left), slow (the client fell behind its byte budget), shutdown (the app closed), error (the source failed)\n# TYPE fastify_views_streams_closed_total counter'
}

const closedLines = (route: string, counts: Partial<Record<'finished' | 'client' | 'slow' | 'shutdown' | 'error', number>>): string[] =>
  (['finished', 'client', 'slow', 'shutdown', 'error'] as const).map((reason) => `fastify_views_streams_closed_total{route="${route}",reason="${reason}"} ${counts[reason] ?? 0}`)

/**
 * The stream metrics of a scrape, line by line: from the first of their HELP lines to the next metric's
 * (prom-client puts a blank line between metrics, the built-in text does not).
 */
function streamSection (text: string): string[] {
  const from = text.indexOf('# HELP fastify_views_open_streams')
  const end = text.indexOf('# HELP ', text.indexOf('# HELP fastify_views_streams_closed_total') + 1)
  return text.slice(from, end === -1 ? undefined : end).split('\n').filter((line) => line !== '')
}

for (const withRegistry of [false, true]) {
  t.test(`streams of views, relays and subscriptions are counted by route and close reason${withRegistry ? ' (prom-client registry)' : ''}`, async (t) => {
    const registry = new Registry()
    const { app, base } = await startApp(t, {
      views: { '/finite': Finite, '/failing': Failing, '/relay': Relay },
      app: { historySize: 50_000, metricsPath: '/metrics', ...(withRegistry ? { metricsRegistry: registry } : {}) }
    })
    // Streams of their own events: one runs to its end, one fails after an event.
    t.match((await http(base, 'GET', '/finite')).text, /data: 2\n\n$/)
    t.match((await http(base, 'GET', '/failing')).text, /event: error\n/)
    // A topic subscription stays open; its label is the route, not the topics asked for.
    const subscription = await openStream(base, '/events?topic=a,b')
    t.teardown(() => subscription.body.close())
    await subscription.body.until('event: subscribed\n')
    // A relay: one reader stays, one leaves, one stops reading and is dropped as slow.
    const reader = await StreamReader.open(base, '/relay')
    t.teardown(() => reader.close())
    const leaving = await StreamReader.open(base, '/relay')
    const deaf = await rawRequest(base, '/relay')
    t.teardown(() => deaf.socket.destroy())
    await until(() => app.broker.subscriberCount('relayed') === 3, 'three relays subscribed')
    leaving.close()
    await until(() => app.topicMetrics.streams.byRoute()['/relay']?.closed.client === 1, 'the leaving client is counted')
    let published = 0
    while (openStreams(app) > 2) {
      if (published >= 40_000) throw new Error('the deaf client was never closed')
      for (let i = 0; i < 16; i++) await app.broker.publish('relayed', 'note', { n: ++published, pad: PAD })
      await reader.waitForPublished(published, 'events', 20_000)
    }

    const scrape = await http(base, 'GET', '/metrics')
    t.equal(scrape.status, 200)
    t.same(streamSection(scrape.text), [
      HELP.open,
      'fastify_views_open_streams{route="/events"} 1',
      'fastify_views_open_streams{route="/failing"} 0',
      'fastify_views_open_streams{route="/finite"} 0',
      'fastify_views_open_streams{route="/relay"} 1',
      HELP.opened,
      'fastify_views_streams_opened_total{route="/events"} 1',
      'fastify_views_streams_opened_total{route="/failing"} 1',
      'fastify_views_streams_opened_total{route="/finite"} 1',
      'fastify_views_streams_opened_total{route="/relay"} 3',
      HELP.closed,
      ...closedLines('/events', {}),
      ...closedLines('/failing', { error: 1 }),
      ...closedLines('/finite', { finished: 1 }),
      ...closedLines('/relay', { client: 1, slow: 1 })
    ].join('\n').split('\n'), 'the exact text of the stream metrics')
    // The metrics that were there keep their names and their meaning (topic subscriptions only).
    t.match(scrape.text, /^fastify_views_open_connections 1$/m)
    t.match(scrape.text, /^fastify_views_connections_total 1$/m)
    t.match(scrape.text, /^fastify_views_slow_closed_total 0$/m)
    // /health counts every stream as maxConnections does (openStreams), and topic subscriptions apart.
    const health = await http(base, 'GET', '/health')
    t.same([health.status, health.json().openStreams, health.json().openConnections], [200, 2, 1], 'health: two streams open, one of them a topic subscription')

    await app.close()
    // What was still open closed with the app.
    t.same(app.topicMetrics.streams.byRoute(), {
      '/events': { open: 0, opened: 1, closed: { finished: 0, client: 0, slow: 0, shutdown: 1, error: 0 } },
      '/failing': { open: 0, opened: 1, closed: { finished: 0, client: 0, slow: 0, shutdown: 0, error: 1 } },
      '/finite': { open: 0, opened: 1, closed: { finished: 1, client: 0, slow: 0, shutdown: 0, error: 0 } },
      '/relay': { open: 0, opened: 3, closed: { finished: 0, client: 1, slow: 1, shutdown: 1, error: 0 } }
    })
  })
}

t.test('a route label is escaped as the text format requires; a route that never streamed has no series', async (t) => {
  const metrics = new TopicMetrics()
  metrics.streams.opened('/a"b\\c\nd')
  metrics.streams.closed('/a"b\\c\nd', 'client')
  metrics.streams.closed('/never', 'client')
  const text = metrics.toPrometheus()
  t.same(streamSection(text), [
    HELP.open, 'fastify_views_open_streams{route="/a\\"b\\\\c\\nd"} 0',
    HELP.opened, 'fastify_views_streams_opened_total{route="/a\\"b\\\\c\\nd"} 1',
    HELP.closed, ...closedLines('/a\\"b\\\\c\\nd', { client: 1 })
  ].join('\n').split('\n'))
  t.ok(text.endsWith('fastify_views_streams_closed_total{route="/a\\"b\\\\c\\nd",reason="error"} 0\n'), 'the text ends with them (no broker given)')
})
