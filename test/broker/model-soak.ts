/**
 * The soak run of the model-based test (`npm run test:soak [minutes] [backends]`): random seeds, one after
 * another, on memory, Redis and a 3-master Cluster in turn, until the time is up. Prints every seed it ran
 * and, on a failure, the seed, path and counterexample to replay (MODEL_SEED / MODEL_PATH); exits 1.
 */
import { startRedis, startRedisCluster } from '../helpers/redis-server.js'
import { runModel, type ModelBackend } from './model.js'
import { clusterBackend, memoryBackend, redisBackend } from './model-backends.js'

const minutes = Number(process.argv[2] ?? 5)
const only = (process.argv[3] ?? 'memory,redis,redis-cluster').split(',')
const deadline = Date.now() + minutes * 60_000
const fixedSeed = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED)
const fixedPath = process.env.MODEL_PATH

const backends: Array<ModelBackend & { close?: () => Promise<void> }> = []
const stops: Array<() => Promise<void>> = []
if (only.includes('memory')) backends.push(memoryBackend)
if (only.includes('redis')) {
  const redis = await startRedis()
  stops.push(() => redis.stop())
  backends.push(redisBackend(redis.url))
}
if (only.includes('redis-cluster')) {
  const cluster = await startRedisCluster({ masters: 3 })
  stops.push(() => cluster.stop())
  backends.push(clusterBackend(cluster.startupNodes))
}

const runs: Record<string, { seeds: number, runs: number }> = {}
let failed = false
let turn = 0
const started = Date.now()
while (Date.now() < deadline && !failed) {
  const backend = backends[turn++ % backends.length]
  const seed = fixedSeed ?? (Math.random() * 2 ** 31) | 0
  const numRuns = backend.name === 'memory' ? 100 : 25
  const tally = runs[backend.name] ??= { seeds: 0, runs: 0 }
  try {
    await runModel(backend, { seed, path: fixedPath, numRuns, maxCommands: 40, interruptAfterTimeLimit: deadline - Date.now() })
    tally.seeds++
    tally.runs += numRuns
    process.stdout.write(`ok ${backend.name} seed=${seed} runs=${numRuns}\n`)
  } catch (error) {
    failed = true
    process.stdout.write(`FAILED ${backend.name} seed=${seed}\n${(error as Error).message}\n`)
    process.stdout.write(`replay: MODEL_SEED=${seed} MODEL_PATH=<path above> npm run test:soak 1 ${backend.name}\n`)
  }
  if (fixedSeed !== undefined) break
}
for (const backend of backends) await backend.close?.()
for (const stop of stops) await stop()
process.stdout.write(`soak: ${((Date.now() - started) / 60_000).toFixed(1)} min, ${JSON.stringify(runs)}, ${failed ? 'FAILED' : 'no failure'}\n`)
process.exit(failed ? 1 : 0)
