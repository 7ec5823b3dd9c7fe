/**
 * `historySize: 0` (issue 11, #8) was accepted and broke Redis delivery: `XRANGE ... COUNT 0` returns nil,
 * so every catch-up threw and the events held meanwhile grew without bound. History is what a
 * reconnecting client resumes from and what fills a gap in live delivery, so a broker without it cannot
 * keep the delivery promise: 0 is refused at startup - by createApp, createBroker and the Redis broker -
 * with an error that names the setting and the fix. (It is not given a meaning such as "no history":
 * every resume would be a reset and every Redis reconnect a silent loss.)
 */
import t from 'tap'
import { createApp, createBroker } from '../../lib/index.js'
import { RedisBroker } from '../../lib/broker/redis.js'

const refusal = { code: 'FVIEWS_ERR_OPTION_INVALID', statusCode: 500 }

t.test('createApp refuses historySize 0 and names the range', async (t) => {
  await t.rejects(createApp({ env: {}, fastify: { logger: false }, historySize: 0 }), {
    ...refusal, message: "Invalid setting 'historySize': expected an integer from 1 to 100000000, got '0'"
  })
})

t.test('createBroker and new RedisBroker refuse historySize 0 (and other non-positive or fractional sizes)', async (t) => {
  const message = (value: unknown) => `Invalid setting 'historySize': expected an integer of at least 1 (the most events kept per topic for resume and gap filling; default historyBytes / 64), got '${String(value)}'`
  for (const historySize of [0, -1, 1.5, Number.NaN]) {
    await t.rejects(createBroker({ historySize }), { ...refusal, message: message(historySize) }, `memory, ${historySize}`)
    await t.rejects(createBroker({ historySize, redisUrl: 'redis://127.0.0.1:1' }), { ...refusal, message: message(historySize) }, `redis, ${historySize}`)
    t.throws(() => new RedisBroker({ historySize, url: 'redis://127.0.0.1:1' }), { ...refusal, message: message(historySize) }, `new RedisBroker, ${historySize}`)
  }
  // Where the Redis broker is cannot be guessed: exactly one of url and cluster.
  t.throws(() => new RedisBroker({}), { ...refusal, message: "Invalid setting 'url': RedisBroker needs 'url' (standalone) or 'cluster' (startup nodes)" })
  t.throws(() => new RedisBroker({ url: 'redis://127.0.0.1:1', cluster: [{ host: '127.0.0.1', port: 1 }] }),
    { ...refusal, message: "Invalid setting 'cluster': RedisBroker takes either 'url' (standalone) or 'cluster' (startup nodes), not both" })
  // The smallest accepted size still builds a broker (nothing connects until connect()).
  const broker = await createBroker({ historySize: 1 })
  t.equal(broker.historySize, 1)
  await broker.close()
})
