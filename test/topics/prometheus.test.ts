/**
 * Topic metrics through prom-client, into the application's own Registry (issue 12): one scrape carries
 * the app's metrics and ours, with the same samples as the built-in text.
 */
import t from 'tap'
import { Counter, Registry } from 'prom-client'
import { createApp, subscribeToEvents } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'
import { openStream } from '../helpers/sse-http.js'

t.test("the topic metrics join the app's registry, sample for sample the built-in text", async (t) => {
  const registry = new Registry()
  const orders = new Counter({ name: 'shop_orders_total', help: 'Orders placed', registers: [registry] })
  orders.inc(3)
  const app = await createApp({ env: {}, fastify: { logger: false }, metricsRegistry: registry, metricsPath: '/metrics' })
  t.teardown(() => app.close())
  app.get('/events', subscribeToEvents())
  const base = await listen(app)
  const stream = await openStream(base, '/events?topic=a,b')
  t.teardown(() => stream.body.close())
  await stream.body.until('event: subscribed\n')
  t.equal((await http(base, 'GET', '/events')).status, 400)
  await app.broker.publish('a', 'x', 1)
  await app.broker.publish('b', 'x', 2)
  await stream.body.until('event: x\n', 2)

  const res = await http(base, 'GET', '/metrics')
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], registry.contentType)
  t.match(res.text, /^shop_orders_total 3$/m, "the app's own metric")
  const samples = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).sort()
  const ours = samples(res.text).filter((line) => line.startsWith('fastify_views_'))
  t.same(ours, samples(app.topicMetrics.toPrometheus(app.broker.stats)), 'the same samples as the built-in text')
  t.ok(ours.includes('fastify_views_open_connections 1'))
  t.ok(ours.includes('fastify_views_events_delivered_total 2'))
  t.ok(ours.includes('fastify_views_subscriptions{topics="2"} 1'))
  t.ok(ours.includes('fastify_views_refused_total{reason="badRequest"} 1'))
  t.match(res.text, /^# TYPE fastify_views_connections_total counter$/m)
  // What only the Redis broker counts is 0 on the memory broker, in both outputs.
  t.ok(ours.includes('fastify_views_broker_malformed_messages_total 0'))
  t.ok(ours.includes('fastify_views_broker_refused_messages_total 0'))

  await t.rejects(createApp({ env: {}, metricsRegistry: registry }), {
    code: 'FVIEWS_ERR_OPTION_INVALID',
    message: "Invalid setting 'metricsRegistry': the registry already holds 'fastify_views_open_connections' (another app's metrics): give each app its own Registry, and combine them with Registry.merge() to serve them together"
  })
  await app.close()
  t.equal(registry.getSingleMetric('fastify_views_open_connections'), undefined, 'closing the app takes its metrics out of the registry')
  t.ok(registry.getSingleMetric('shop_orders_total'), "and leaves the app's own")
  const again = await createApp({ env: {}, fastify: { logger: false }, metricsRegistry: registry })
  await again.close()
})

t.test('a metricsRegistry that is not a registry is refused at startup', async (t) => {
  await t.rejects(createApp({ env: {}, metricsRegistry: {} as any }), {
    code: 'FVIEWS_ERR_OPTION_INVALID',
    message: "Invalid setting 'metricsRegistry': expected a prom-client Registry, e.g. new Registry() or the default register of `import { register } from 'prom-client'`"
  })
})
