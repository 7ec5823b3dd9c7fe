/**
 * Quiet topics (issue 11, #6): a topic's history expires `historyTtlSeconds` after its last event - but
 * not while anyone listens to it. Before the fix, Redis keys expired under connected clients; the next
 * event started a new epoch and every client got `epoch-changed` though nothing was lost. Here with a
 * 2 s retention: a topic nobody listens to is forgotten (the control that the short retention is real),
 * a quiet topic with a connected client is kept, and its next event arrives with the next offset, no reset.
 */
import t from 'tap'
import { startRedis, startRedisCluster, type RedisCluster } from '../helpers/redis-server.js'
import { eventsPath, startInstance, viaBroker } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { sleep, until } from '../helpers/wait.js'

const redis = await startRedis({ t })
const TTL = 2

let cluster: RedisCluster | undefined

for (const backend of ['memory', 'redis', 'cluster'] as const) {
  t.test(`${backend}: a quiet topic with a connected client keeps its history; one nobody listens to expires`, async (t) => {
    if (backend === 'cluster') cluster ??= await startRedisCluster({ masters: 3 }, t)
    const where = backend === 'redis' ? { redisUrl: redis.url } : backend === 'cluster' ? { app: { redisCluster: cluster?.startupNodes } } : {}
    const instance = await startInstance(t, { ...where, app: { ...where.app, historyTtlSeconds: TTL, probeIntervalMs: 0 } })
    const { app, base } = instance
    const listened = `quiet:${backend}`
    const unlistened = `unheard:${backend}`
    const reader = await StreamReader.open(base, eventsPath([listened]))
    t.teardown(() => reader.close())
    await until(() => reader.frames.length === 1, 'subscribed')
    const ledger = new Ledger()
    for (let i = 0; i < 2; i++) await ledger.publish(listened, viaBroker(instance))
    await ledger.publish(unlistened, viaBroker(instance))
    await reader.waitForPublished(2)

    const known = async (topic: string) => (await app.broker.history(topic, 0)).epoch !== ''
    t.ok(await known(unlistened), 'the unlistened topic has history at first')
    await until(async () => !(await known(unlistened)), 'the unlistened topic is forgotten', 15_000, 100)
    // Longer than a whole retention more: a listened topic's history must outlive any number of them.
    await sleep(TTL * 1000 + 500)
    t.ok(await known(listened), 'the listened topic still has its history')
    if (backend === 'redis') t.equal(await redis.cli('EXISTS', `{${listened}}:meta`, `{${listened}}:log`), '2', 'both of its keys exist')

    const third = await ledger.publish(listened, viaBroker(instance))
    t.equal(third.offset, 3, 'the next event takes the next offset: same epoch')
    t.equal(third.epoch, ledger.attempts[0].epoch)
    await reader.waitForPublished(3)
    await sleep(100)
    t.same(describe(reader.frames), [`subscribed ${JSON.stringify({ topics: [listened] })}`, ...noteKeys(ledger.expected([listened]))], 'every event once, no reset')
  })
}
