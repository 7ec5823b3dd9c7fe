/**
 * A Redis Cluster master SIGKILLed while events flow, then restarted (no replicas, no persistence: its
 * shard's data is gone). Subscribers on the other shards lose nothing; subscribers of the lost shard get
 * every event whose publish succeeded before the kill, then exactly one `reset` (epoch-changed: the
 * history they could resume from is gone), then the new events - never a silent gap. Publishes to the
 * dead shard fail visibly in bounded time.
 */
import t from 'tap'
import type { TopicEvent } from '../../lib/index.js'
import { RedisBroker } from '../../lib/redis.js'
import { keySlot } from '../../lib/broker/key-slot.js'
import { startRedisCluster } from '../helpers/redis-server.js'
import { take } from './contract.js'

// The deployment the README recommends: healthy shards keep serving while one is down.
const cluster = await startRedisCluster({ masters: 3, args: ['--cluster-require-full-coverage', 'no'], t })

async function ownerPort (key: string): Promise<number> {
  const id = (await cluster.nodes[0].cli('CLUSTER', 'KEYSLOT', key))
  for (const node of cluster.nodes) {
    const count = Number(await node.cli('CLUSTER', 'COUNTKEYSINSLOT', id).catch(() => '-1'))
    if (count >= 0 && (await node.cli('CLUSTER', 'NODES')).split('\n').some((line) => line.includes('myself') && line.includes('master') && slotIn(line, Number(id)))) return node.port
  }
  throw new Error(`no owner for ${key}`)
}

function slotIn (nodesLine: string, slot: number): boolean {
  return nodesLine.split(' ').slice(8).some((range) => {
    const [start, end] = range.split('-').map(Number)
    return slot >= start && slot <= (end ?? start)
  })
}

t.test('a master killed and restarted: other shards lose nothing; the lost shard resets once, then flows', async (t) => {
  const prefix = 'failover:'
  const owners = new Map<number, string>()
  for (let i = 0; owners.size < 3; i++) {
    const port = await ownerPort(`${prefix}{f${i}}`)
    if (!owners.has(port)) owners.set(port, `f${i}`)
  }
  const [victimPort, lost] = [...owners][0]
  const survivors = [...owners].slice(1).map(([, topic]) => topic)
  t.equal(keySlot(`${prefix}{${lost}}`), Number(await cluster.nodes[0].cli('CLUSTER', 'KEYSLOT', `${prefix}{${lost}}`)))
  const victim = cluster.nodes.find((node) => node.port === victimPort)!

  const a = new RedisBroker({ cluster: cluster.startupNodes, topicPrefix: prefix, publishTimeoutMs: 1000 })
  const b = new RedisBroker({ cluster: cluster.startupNodes, topicPrefix: prefix, publishTimeoutMs: 1000 })
  await Promise.all([a.connect(), b.connect()])
  t.teardown(async () => { await a.close(); await b.close() })
  const watchers = new Map<string, AsyncIterator<TopicEvent>>()
  for (const topic of [lost, ...survivors]) {
    const events = b.subscribe([topic])
    t.teardown(() => events.return())
    await take(events, 1)
    watchers.set(topic, events)
  }

  const ok = new Map<string, number[]>([lost, ...survivors].map((topic) => [topic, []]))
  let failedLost = 0
  const publish = async (topic: string, n: number) => {
    try {
      await a.publish(topic, 'x', n)
      ok.get(topic)!.push(n)
    } catch (error) {
      if (topic !== lost) throw error
      t.equal((error as { code?: string }).code, 'FVIEWS_ERR_BROKER_UNAVAILABLE')
      failedLost++
    }
  }
  for (let n = 1; n <= 20; n++) for (const topic of [lost, ...survivors]) await publish(topic, n)
  await victim.kill9()
  // Each publish to the dead shard waits up to publishTimeoutMs: a few are enough to show it.
  for (let n = 21; n <= 40; n++) for (const topic of n <= 23 ? [lost, ...survivors] : survivors) await publish(topic, n)
  t.ok(failedLost > 0, 'publishing to the dead shard fails visibly')
  await victim.restart()
  await cluster.waitForOk(20_000)
  // The restarted shard accepts writes again after the cluster agrees it is back.
  let n = 41
  while (true) {
    try {
      await a.publish(lost, 'x', n)
      ok.get(lost)!.push(n)
      break
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  for (n = 42; n <= 45; n++) await publish(lost, n)

  for (const topic of survivors) {
    const got = await take(watchers.get(topic)!, 40, 20_000)
    t.same(got.map((event) => event.data), Array.from({ length: 40 }, (_, i) => i + 1), `${topic}: every event once, in order`)
  }
  const before = ok.get(lost)!.filter((value) => value <= 40)
  const after = ok.get(lost)!.filter((value) => value > 40)
  const got = await take(watchers.get(lost)!, before.length + 1 + after.length, 20_000)
  t.same(got.slice(0, before.length).map((event) => event.data), before, 'what was published before the loss, once, in order')
  t.same([got[before.length].event, got[before.length].data], ['reset', { reason: 'epoch-changed', topics: [lost] }], 'then one reset')
  t.same(got.slice(before.length + 1).map((event) => event.data), after, 'then the new events')
})
