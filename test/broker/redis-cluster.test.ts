/**
 * The Redis broker on a real 3-master Redis Cluster: sharded pub/sub (SPUBLISH/SSUBSCRIBE), every key and
 * the channel of a topic in one slot, one subscriber connection per master, and the broker contract.
 */
import t from 'tap'
import type { Broker } from '../../lib/index.js'
import { RedisBroker } from '../../lib/redis.js'
import { keySlot } from '../../lib/broker/key-slot.js'
import { startRedisCluster } from '../helpers/redis-server.js'
import { brokerContract, take } from './contract.js'

const cluster = await startRedisCluster({ masters: 3, t })
let apps = 0

async function open (t: { teardown: (fn: () => unknown) => void }, prefix: string): Promise<Broker> {
  const broker = new RedisBroker({ cluster: cluster.startupNodes, topicPrefix: prefix })
  await broker.connect()
  t.teardown(() => broker.close())
  return broker
}

/** The master serving a slot, from CLUSTER SLOTS of any node. */
async function masterPortOf (slot: number): Promise<number> {
  const lines = (await cluster.nodes[0].cli('CLUSTER', 'SLOTS')).split('\n')
  // redis-cli prints each range as: start, end, ip, port, id, ... (one value per line)
  for (let i = 0; i + 3 < lines.length; i++) {
    const start = Number(lines[i])
    const end = Number(lines[i + 1])
    if (Number.isInteger(start) && Number.isInteger(end) && lines[i + 2] === '127.0.0.1' && slot >= start && slot <= end && end >= start && end < 16384) {
      return Number(lines[i + 3])
    }
  }
  throw new Error(`no master for slot ${slot}`)
}

/** Topics whose slots fall on each of the three masters. */
async function topicsOnEveryMaster (prefix: string): Promise<string[]> {
  const byPort = new Map<number, string>()
  for (let i = 0; byPort.size < 3 && i < 1000; i++) {
    const topic = `t${i}`
    const port = await masterPortOf(keySlot(`${prefix}{${topic}}`))
    if (!byPort.has(port)) byPort.set(port, topic)
  }
  return [...byPort.values()]
}

t.test('hash slots are computed as Redis computes them', async (t) => {
  for (const key of ['foo', 'app:{tasks}:meta', 'app:{tasks}:log', 'app:{tasks}', 'x{}y', '{a}{b}', 'héllo', 'a}b{c}']) {
    t.equal(keySlot(key), Number(await cluster.nodes[0].cli('CLUSTER', 'KEYSLOT', key)), key)
  }
})

brokerContract(t, 'redis-cluster', {
  async make (options = {}) {
    const broker = new RedisBroker({ cluster: cluster.startupNodes, topicPrefix: `contract${++apps}:`, ...options })
    await broker.connect()
    return broker
  },
  async forget (broker, topic) {
    await cluster.nodes[0].cli('-c', 'DEL', `${broker.topicPrefix}{${topic}}:meta`, `${broker.topicPrefix}{${topic}}:log`)
  }
})

t.test('redis-cluster: events of topics on every shard reach another instance, over one subscriber connection per master', async (t) => {
  const prefix = 'shards:'
  const topics = await topicsOnEveryMaster(prefix)
  t.equal(new Set(await Promise.all(topics.map((topic) => masterPortOf(keySlot(`${prefix}{${topic}}`))))).size, 3, 'one topic per master')
  const a = await open(t, prefix)
  const b = await open(t, prefix)
  const events = b.subscribe(topics)
  t.teardown(() => events.return())
  await take(events, 1)
  for (let n = 1; n <= 10; n++) for (const topic of topics) await a.publish(topic, 'x', { topic, n })
  const got = await take(events, 30)
  for (const topic of topics) {
    t.same(got.filter((event) => event.topic === topic).map((event) => (event.data as { n: number }).n), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], `${topic}: every event once, in order`)
  }
  for (const node of cluster.nodes) {
    // ioredis names its per-master sharded subscriber connections itself.
    const clients = (await node.cli('CLIENT', 'LIST')).split('\n').filter((line) => /\bssub=[1-9]/.test(line))
    t.equal(clients.length, 1, `master ${node.port}: one sharded subscriber connection`)
  }
  // SPUBLISH stays on the shard: no classic channel carries the events.
  t.equal(await cluster.nodes[0].cli('PUBSUB', 'CHANNELS'), '')
})

t.test('redis-cluster: a shard subscriber dropped while events flow loses nothing', async (t) => {
  const prefix = 'dropped:'
  const [topic] = await topicsOnEveryMaster(prefix)
  const port = await masterPortOf(keySlot(`${prefix}{${topic}}`))
  const master = cluster.nodes.find((node) => node.port === port)!
  const a = await open(t, prefix)
  const b = await open(t, prefix)
  const events = b.subscribe([topic])
  t.teardown(() => events.return())
  await take(events, 1)
  let published = 0
  const publishing = (async () => {
    for (let n = 1; n <= 200; n++) {
      await a.publish(topic, 'x', n)
      published = n
      if (n === 50) await master.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
    }
  })()
  const got = await take(events, 200, 20_000)
  await publishing
  t.equal(published, 200)
  t.same(got.map((event) => event.data), Array.from({ length: 200 }, (_, i) => i + 1), 'every event once, in order')
})

t.test('redis-cluster: two createApp instances configured by REDIS_CLUSTER_NODES share topics over HTTP', async (t) => {
  const { createApp, SubscriptionView, ViewRouter } = await import('../../lib/index.js')
  const { listen, http } = await import('../helpers/http.js')
  const { SSEClient } = await import('../helpers/sse-client.js')
  const env = { REDIS_CLUSTER_NODES: cluster.startupNodes.map((node) => `${node.host}:${node.port}`).join(','), TOPIC_PREFIX: 'apps:' }
  const bases: string[] = []
  for (let i = 0; i < 2; i++) {
    const app = await createApp({ env, fastify: { logger: false }, drainMs: 0 })
    t.teardown(() => app.close())
    await app.register(new ViewRouter().registerView(SubscriptionView(), { prefix: '/events' }).plugin)
    app.post('/notes/:topic', async (request) => app.broker.publish((request.params as { topic: string }).topic, 'note', request.body))
    bases.push(await listen(app))
  }
  t.equal((await http(bases[0], 'GET', '/health')).json().broker.backend, 'redis-cluster')
  const topics = await topicsOnEveryMaster('apps:')
  const client = new SSEClient(`${bases[1]}/events?topic=${topics.join(',')}`, { types: ['note'] })
  t.teardown(() => client.close())
  await client.opened
  for (const topic of topics) t.equal((await http(bases[0], 'POST', `/notes/${topic}`, { body: { topic } })).status, 200)
  const got = await client.waitFor(3)
  t.same(got.map((event) => JSON.parse(event.data).topic).sort(), [...topics].sort())
})
