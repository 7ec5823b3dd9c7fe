#!/usr/bin/env node
// npm run test:soak [minutes=5] [kinds=memory,redis,redis-cluster]: the broker's model-based test with
// random seeds for a bounded time (test/broker/model-soak.ts); prints the seed and path of any failure.
// Add `streams` to the kinds (`npm run test:soak 2 memory,streams`, or `streams` alone) for the stream
// properties too (test/sse/stream-properties.test.ts: bursts, readers that pause, stall and resume, on
// SubscriptionView and on the push and pull paths of a relaying view) with random seeds for as long again;
// a failure prints its seed (replay with FVIEWS_SOAK_SEED=<seed>) and the shrunk run.
import { spawnSync } from 'node:child_process'

const minutes = process.argv[2] ?? '5'
const kinds = (process.argv[3] ?? 'memory,redis,redis-cluster').split(',')
const backends = kinds.filter((kind) => kind !== 'streams')
let status = 0
if (backends.length > 0) {
  status = spawnSync('node', ['--import', 'tsx', 'test/broker/model-soak.ts', minutes, backends.join(',')], { stdio: 'inherit' }).status ?? 1
}
if (status === 0 && kinds.includes('streams')) {
  // The file's two properties (all paths, then the pull path alone) share the time. A run the time limit
  // interrupts finishes in the background (its waits are bounded): tap's timeout leaves room for it.
  const seconds = Math.max(10, Number(minutes) * 30)
  const env = { ...process.env, FVIEWS_SOAK_RUNS: '1000000', FVIEWS_SOAK_SECONDS: String(seconds) }
  status = spawnSync('npx', ['tap', '--timeout', String(2 * seconds + 240), 'test/sse/stream-properties.test.ts'], { stdio: 'inherit', env }).status ?? 1
}
process.exit(status)
