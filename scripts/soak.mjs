#!/usr/bin/env node
// npm run test:soak [minutes=5] [backends=memory,redis,redis-cluster]: the broker's model-based test with
// random seeds for a bounded time (test/broker/model-soak.ts); prints the seed and path of any failure.
import { spawnSync } from 'node:child_process'

const run = spawnSync('node', ['--import', 'tsx', 'test/broker/model-soak.ts', ...process.argv.slice(2)], { stdio: 'inherit' })
process.exit(run.status ?? 1)
