/**
 * Redis disconnects a subscriber that lags (`client-output-buffer-limit pubsub`): here the limit is
 * 64 KB hard / 32 KB for 1 s, and the process's event loop is blocked - a synchronous redis-cli pipes a
 * burst of publishes through the same Lua script the broker uses - so nothing reads the subscriber
 * socket while Redis fills it. Redis closes the connection; the broker treats the reconnect as a gap and
 * catches up from history: every client receives every event, once, in order, with no reset.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { PUBLISH_SCRIPT, channelOf, logKey, metaKey } from '../../lib/broker/redis-scripts.js'
import { publishTokenKey } from '../../lib/broker/redis-publish-token.js'
import { startRedis } from '../helpers/redis-server.js'
import { eventsPath, startInstance, viaBroker } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys, type Note } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'

/** RESP for one command (what redis-cli --pipe reads). */
function resp (args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`
}

/** id of the client connection named `name`, from CLIENT LIST. */
function clientId (list: string, name: string): string | undefined {
  return list.split('\n').find((line) => line.includes(` name=${name} `))?.match(/^id=(\d+) /)?.[1]
}

t.test('a subscriber disconnected by Redis for lagging loses nothing: the reconnect is a gap filled from history', async (t) => {
  const redis = await startRedis({ t })
  await redis.cli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 64kb 32kb 1')
  // A budget far above the burst: this test is about the broker's gap, not about slow clients.
  const instance = await startInstance(t, { redisUrl: redis.url, view: { budgetBytes: 256 * 1024 * 1024 }, app: { probeIntervalMs: 0 } })
  const { app, base } = instance
  const plans = [['lag'], ['lag'], ['calm', 'lag']]
  const readers = await Promise.all(plans.map((topics) => StreamReader.open(base, eventsPath(topics))))
  t.teardown(() => readers.forEach((reader) => reader.close()))
  await until(() => readers.every((reader) => reader.frames.length === 1), 'subscribed')
  const ledger = new Ledger()
  for (let i = 0; i < 5; i++) await ledger.publish(i % 2 === 0 ? 'lag' : 'calm', viaBroker(instance))
  await Promise.all(readers.map((reader, i) => reader.waitForPublished(ledger.expected(plans[i]).length)))
  const before = clientId(await redis.cli('CLIENT', 'LIST'), 'fastify-views:subscriber')
  t.ok(before !== undefined, 'the subscriber connection is listed')

  // The burst: 3,000 events of 4 KB (12 MB, beyond any socket buffer), published by redis-cli while
  // this process is blocked in execFileSync and cannot read its subscriber socket.
  const sha = await redis.cli('SCRIPT', 'LOAD', PUBLISH_SCRIPT)
  const pad = 'x'.repeat(4000)
  let commands = ''
  for (let i = 0; i < 3000; i++) {
    const attempt = { topic: 'lag', n: ledger.attempts.length + 1, ok: true }
    ledger.attempts.push(attempt)
    const json = JSON.stringify({ topic: 'lag', n: attempt.n, pad } satisfies Note & { pad: string })
    commands += resp(['EVALSHA', sha, '3', publishTokenKey('', 'lag', `burst-${i}`), metaKey('', 'lag'), logKey('', 'lag'), 'unused', '10000', '3600', 'note', json, String(Date.now() + i / 1000), 'PUBLISH',
      String(app.broker.historyBytes), String(app.broker.historyWindowSeconds * 1000), '', '10000', channelOf('', 'lag')])
  }
  const report = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), '--pipe'], { input: commands, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  t.match(report, /errors: 0, replies: 3000/, 'redis-cli published all 3,000')

  await until(() => app.broker.stats.reconnects === 1, 'the broker saw its subscriber dropped and reconnected')
  const after = clientId(await redis.cli('CLIENT', 'LIST'), 'fastify-views:subscriber')
  t.ok(after !== undefined && after !== before, `Redis closed the lagging subscriber connection (id ${before} -> ${after})`)

  await Promise.all(readers.map((reader, i) => reader.waitForPublished(ledger.expected(plans[i]).length, 'events', 30_000)))
  for (let i = 0; i < 3; i++) await ledger.publish(i % 2 === 0 ? 'lag' : 'calm', viaBroker(instance))
  await Promise.all(readers.map((reader, i) => reader.waitForPublished(ledger.expected(plans[i]).length, 'events', 30_000)))
  for (let i = 0; i < readers.length; i++) {
    t.same(describe(readers[i].frames), [`subscribed ${JSON.stringify({ topics: plans[i] })}`, ...noteKeys(ledger.expected(plans[i]))], `${plans[i].join(',')}: every event once, in order, no reset`)
  }
  t.equal(app.broker.stats.eventsLost, 0)
  t.ok(app.broker.stats.gapsFilled >= 1, 'the gap was filled from history')
})
