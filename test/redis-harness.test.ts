/** The real-Redis harness itself: kill -9 / restart on the same port, and a 3-master cluster. */
import t from 'tap'
import { connect } from 'node:net'
import { startRedis, startRedisCluster } from './helpers/redis-server.js'

/** The error code of a plain TCP connect to 127.0.0.1:port, or 'connected'. */
function tcpConnect (port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => { socket.destroy(); resolve('connected') })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })
}

function parseInfo (text: string): Record<string, string> {
  return Object.fromEntries(text.split(/\r?\n/).filter((line) => line.includes(':')).map((line) => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon), line.slice(colon + 1).trim()]
  }))
}

t.test('standalone: PING, kill -9, the port refuses, restart on the same port, PING', async (t) => {
  const redis = await startRedis({}, t)
  t.equal(redis.url, `redis://127.0.0.1:${redis.port}`)
  t.not(redis.port, 6379)
  t.equal(await redis.cli('PING'), 'PONG')
  t.equal(await redis.cli('SET', 'k', 'v'), 'OK')
  t.equal(await redis.cli('CONFIG', 'GET', 'save'), 'save')
  const firstPid = redis.pid

  await redis.kill9()
  t.equal(await tcpConnect(redis.port), 'ECONNREFUSED')

  await redis.restart()
  t.not(redis.pid, firstPid, 'a new process')
  t.equal(await redis.cli('PING'), 'PONG')
  t.equal(await redis.cli('EXISTS', 'k'), '0', 'no persistence: the restarted server is empty')
  t.equal(await tcpConnect(redis.port), 'connected')

  await redis.stop()
  t.equal(await tcpConnect(redis.port), 'ECONNREFUSED')
})

t.test('cluster: 3 masters, cluster_state:ok everywhere, all 16384 slots covered', async (t) => {
  const cluster = await startRedisCluster({ masters: 3 }, t)
  t.equal(cluster.nodes.length, 3)
  t.same(cluster.startupNodes, cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })))
  t.equal(new Set(cluster.nodes.map((node) => node.port)).size, 3)

  for (const node of cluster.nodes) {
    const info = parseInfo(await node.cli('CLUSTER', 'INFO'))
    t.equal(info.cluster_state, 'ok', `node ${node.port}`)
    t.equal(info.cluster_slots_assigned, '16384')
    t.equal(info.cluster_known_nodes, '3')
    t.equal(info.cluster_size, '3')
  }

  // CLUSTER SLOTS: [[start, end, [ip, port, id, ...], ...replicas], ...]
  const slots = JSON.parse(await cluster.nodes[0].cli('--json', 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]]]>
  const ranges = slots.map(([start, end, master]) => ({ start, end, port: master[1] })).sort((a, b) => a.start - b.start)
  t.equal(ranges[0].start, 0)
  t.equal(ranges[ranges.length - 1].end, 16383)
  for (let i = 1; i < ranges.length; i++) t.equal(ranges[i].start, ranges[i - 1].end + 1, 'contiguous')
  t.equal(ranges.reduce((sum, range) => sum + range.end - range.start + 1, 0), 16384)
  t.same(new Set(ranges.map((range) => range.port)), new Set(cluster.nodes.map((node) => node.port)), 'every master serves slots')

  await cluster.stop()
  for (const node of cluster.nodes) t.equal(await tcpConnect(node.port), 'ECONNREFUSED')
})
