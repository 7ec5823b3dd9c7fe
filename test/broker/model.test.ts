/**
 * The model-based test of the broker (test/broker/model.ts) with fixed seeds, on every backend: a few
 * seconds each. `npm run test:soak` runs it with random seeds for as long as you give it.
 */
import t from 'tap'
import { startRedis, startRedisCluster } from '../helpers/redis-server.js'
import { runModel } from './model.js'
import { clusterBackend, memoryBackend, redisBackend } from './model-backends.js'

const SEED = 1101

t.test('model: memory broker (injected listen latency)', async () => {
  await runModel(memoryBackend, { seed: SEED, numRuns: 25, maxCommands: 30 })
})

t.test('model: Redis', async (t) => {
  const redis = await startRedis({ t })
  const backend = redisBackend(redis.url)
  t.teardown(() => backend.close())
  await runModel(backend, { seed: SEED, numRuns: 30, maxCommands: 25 })
})

t.test('model: 3-master Redis Cluster', async (t) => {
  const cluster = await startRedisCluster({ masters: 3, t })
  const backend = clusterBackend(cluster.startupNodes)
  t.teardown(() => backend.close())
  await runModel(backend, { seed: SEED, numRuns: 10, maxCommands: 20 })
})
