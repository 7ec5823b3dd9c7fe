/**
 * Raw backend error text never reaches clients (issue 11, part of #15): Redis' own words (`WRONGTYPE ...`,
 * `OOM ...`, `CROSSSLOT ...`) and ioredis' connection messages describe how the backend is set up. The
 * broker's errors say what failed in the library's words; the raw error goes to the log.
 */
import t from 'tap'
import { http } from '../helpers/http.js'
import { LogCapture } from '../helpers/sse-http.js'
import { startRedis } from '../helpers/redis-server.js'
import { eventsPath, startInstance } from '../helpers/delivery-app.js'

const redis = await startRedis({ t })
const RAW = /WRONGTYPE|OOM|CROSSSLOT|ERR |ReplyError|Stream isn't writeable/

t.test('Redis refusing the publish script or a read: 503s in the library\'s words, the raw error in the log', async (t) => {
  const logs = new LogCapture()
  const instance = await startInstance(t, { redisUrl: redis.url, app: { probeIntervalMs: 0, fastify: { logger: { level: 'warn', stream: logs } } } })
  // A key of the wrong type where the topic's offset hash belongs: every command on it fails in Redis.
  await redis.cli('SET', '{wrong}:meta', 'not a hash')

  const published = await http(instance.base, 'POST', '/publish/wrong', { body: { n: 1 } })
  t.equal(published.status, 503)
  t.match(published.json(), { status: 503, code: 'FVIEWS_ERR_EVENT_NOT_PUBLISHED', publication: 'failed', detail: "The change was applied, but its 'note' event could not be published: the event broker is unavailable. Do not repeat the request; read the current state instead." })
  t.notMatch(published.json().detail, RAW, 'no raw backend text in the publish 503')

  const subscribed = await http(instance.base, 'GET', eventsPath(['wrong']))
  t.equal(subscribed.status, 503)
  t.match(subscribed.json(), { status: 503, code: 'FVIEWS_ERR_BROKER_UNAVAILABLE', detail: 'Cannot subscribe now. The event broker is unavailable' })
  t.notMatch(subscribed.json().detail, RAW, 'no raw backend text in the subscription 503')

  const raw = logs.lines.filter((line) => /WRONGTYPE/.test(JSON.stringify(line.err ?? '')))
  t.ok(raw.length >= 2, `the raw errors are logged (${raw.length})`)
})
