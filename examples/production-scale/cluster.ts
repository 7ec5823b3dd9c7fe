/**
 * W production-scale instances sharing ONE port on this machine, the way PM2's cluster mode runs a Node
 * service: a node:cluster primary forks W workers, each a full instance (app.ts) on the same Redis, and hands
 * them the accepted connections in turn (round robin), so each holds about 1/W of the streams - and of the
 * per-process file-descriptor limit.
 *
 *   WORKERS=4 REDIS_URL=redis://127.0.0.1:6390/0 PORT=3000 node --import tsx examples/production-scale/cluster.ts
 *
 * WORKERS (default: the number of cores), HOST (127.0.0.1), PORT (3000; 0 = a free one), REDIS_URL
 * (required), LOG_LEVEL (warn), MAX_CONNECTIONS (streams per worker before 503, default 20,000), BACKLOG
 * (listen queue, default 4,096, capped by net.core.somaxconn). Prints `ready <port> workers <pid,pid,...>`
 * once every worker listens. SIGTERM or Ctrl-C: every worker drains its streams and exits, then the primary;
 * if a worker dies on its own, the primary stops the others and exits 1 (a supervisor restarts the whole).
 */
import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import { closeOnSignals } from '../../lib/index.js'
import { build } from './app.js'

const count = (name: string, fallback: number): number => {
  const raw = process.env[name]
  const value = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`cluster: ${name} must be a non-negative integer, got '${raw}'\n`)
    process.exit(2)
  }
  return value
}

const host = process.env.HOST ?? '127.0.0.1'
const port = count('PORT', 3000)

if (cluster.isPrimary) {
  const workers = count('WORKERS', availableParallelism())
  if (workers < 1) {
    process.stderr.write('cluster: WORKERS must be at least 1\n')
    process.exit(2)
  }
  // Round robin, as on Linux by default, but said out loud: the kernel's own balancing of accept() between
  // processes is uneven, and one worker past its descriptor limit would refuse connections.
  cluster.schedulingPolicy = cluster.SCHED_RR
  let stopping = false
  let listening = 0
  let sharedPort = 0
  const all: Worker[] = []

  const stop = (code: number): void => {
    if (stopping) return
    stopping = true
    const alive = all.filter((worker) => !worker.isDead())
    if (alive.length === 0) process.exit(code)
    // Each worker drains its streams (closeOnSignals); the group may have had the signal already, and a
    // repeated one is ignored there. Past 15 s, anything left is killed.
    for (const worker of alive) worker.process.kill('SIGTERM')
    setTimeout(() => {
      for (const worker of all) if (!worker.isDead()) worker.process.kill('SIGKILL')
      process.exit(code === 0 ? 1 : code)
    }, 15_000).unref()
    let left = alive.length
    for (const worker of alive) worker.once('exit', () => { if (--left === 0) process.exit(code) })
  }

  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork({ WORKER_INDEX: String(i) })
    all.push(worker)
    // A connection handed to a worker that is exiting fails with EPIPE on the IPC channel; the exit itself is
    // handled below (stopping, or stopping the others).
    worker.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_IPC_CHANNEL_CLOSED') process.stderr.write(`cluster: worker ${i}: ${error.message}\n`)
    })
    worker.on('message', (message: { listening?: number }) => {
      if (typeof message.listening !== 'number') return
      sharedPort = message.listening
      if (++listening === workers) process.stdout.write(`ready ${sharedPort} workers ${all.map((w) => w.process.pid).join(',')}\n`)
    })
    worker.on('exit', (code, signal) => {
      if (stopping) return
      process.stderr.write(`cluster: worker ${i} (pid ${worker.process.pid}) exited (code ${code}, signal ${signal}); stopping the others\n`)
      stop(1)
    })
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop(0))
} else {
  const app = await build({
    fastify: { logger: { level: process.env.LOG_LEVEL ?? 'warn' } },
    maxConnections: count('MAX_CONNECTIONS', 20_000),
    drainMs: 2000
  })
  // Every worker listens on the same port: the primary owns the socket and passes connections on.
  await app.listen({ host, port, backlog: count('BACKLOG', 4096) })
  closeOnSignals(app)
  const address = app.server.address()
  process.send?.({ listening: typeof address === 'object' && address !== null ? address.port : port })
}
