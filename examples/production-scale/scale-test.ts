/**
 * 100,000 concurrent clients on one machine: starts a Redis (on a free port), W production-scale workers
 * sharing one port (cluster.ts, node:cluster as PM2's cluster mode), and as many load-generator processes
 * (scale-generator.ts) as the per-process descriptor limit needs, each holding its share of the streams on
 * the broadcast topic `tasks` over several loopback source addresses. Then bursts of tasks are created
 * through the REST API (each `POST /tasks` publishes `task:created`), and every client must receive every
 * event, in order, exactly once. A share of the clients stops reading for some bursts: the others must not
 * wait for them, and they must resume exactly when they read again. Loopback only; bounded; it stops every
 * process it started, also on failure and Ctrl-C. Prints a table and, as its last line, the result as JSON;
 * exits 0 only if every check passed.
 *
 *   node --import tsx examples/production-scale/scale-test.ts                      # 100,000 clients
 *   node --import tsx examples/production-scale/scale-test.ts --clients 2000 --workers 2 --generators 2
 *
 * Options: --clients (100000), --workers / --generators (default: as few as the descriptor limit allows),
 * --bursts (4, all clients reading), --slow-bursts (2, the slow share paused), --events (10 per burst),
 * --slow-share (0.01), --sources (loopback source addresses; default: enough for the port range),
 * --concurrency (connects in flight per generator, 64), --timeout-ms (per wait, 120000).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { freemem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '..', '..')

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '100000' },
    workers: { type: 'string' },
    generators: { type: 'string' },
    bursts: { type: 'string', default: '4' },
    'slow-bursts': { type: 'string', default: '2' },
    events: { type: 'string', default: '10' },
    'slow-share': { type: 'string', default: '0.01' },
    sources: { type: 'string' },
    concurrency: { type: 'string', default: '64' },
    'timeout-ms': { type: 'string', default: '120000' }
  }
})

function integer (name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) usage(`--${name}: expected an integer >= ${min}, got '${raw}'`)
  return value
}
function usage (message: string): never {
  process.stderr.write(`scale-test: ${message}\n`)
  process.exit(2)
}

const clients = integer('clients', values.clients, 1)!
const bursts = integer('bursts', values.bursts, 1)!
const slowBursts = integer('slow-bursts', values['slow-bursts'], 0)!
const eventsPerBurst = integer('events', values.events, 1)!
const concurrency = integer('concurrency', values.concurrency, 1)!
const timeoutMs = integer('timeout-ms', values['timeout-ms'], 1000)!
const slowShare = Number(values['slow-share'])
if (!(slowShare >= 0 && slowShare < 1)) usage(`--slow-share: expected a fraction from 0 to below 1, got '${values['slow-share']}'`)
const slowEvery = slowShare === 0 ? 0 : Math.round(1 / slowShare)
const totalEvents = (bursts + slowBursts + 1) * eventsPerBurst // + the burst after the slow clients resume

// ---------------------------------------------------------------------------------------------------------
// Kernel and process limits: check what this run needs, and say what to change when it is not there.

const readText = (path: string): string | null => { try { return readFileSync(path, 'utf8').trim() } catch { return null } }
const readInts = (path: string): number[] | null => readText(path)?.split(/\s+/).map(Number) ?? null

/** Descriptors each process keeps for itself (stdio, epoll, Redis, IPC, libuv): not for streams. */
const SPARE_FDS = 500
const hardFds = Number(spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim())
const perProcess = (Number.isFinite(hardFds) ? hardFds : 1_048_576) - SPARE_FDS
const needed = Math.ceil(clients / Math.max(perProcess, 1))
const workers = integer('workers', values.workers, 1) ?? needed
const generators = integer('generators', values.generators, 1) ?? needed
const [portLow, portHigh] = readInts('/proc/sys/net/ipv4/ip_local_port_range') ?? [32768, 60999]
const portsPerSource = portHigh - portLow + 1
// Each source address has its own ephemeral ports. A socket bound to a source address with port 0 gets its
// port from a search of that address's ports (the even half first, Linux >= 4.6) that slows down as they fill:
// at 12,500 connections per address (8 addresses, 100,000 clients) connecting fell to ~50 a second. So every
// address is kept to an eighth of the range (~3,500 connections here: 29 addresses for 100,000).
const sources = integer('sources', values.sources, 1) ?? Math.max(2, Math.ceil(clients / (portsPerSource / 8)))

function checkLimits (): string[] {
  const problems: string[] = []
  const share = Math.ceil(clients / workers)
  const genShare = Math.ceil(clients / generators)
  if (share + SPARE_FDS > hardFds || genShare + SPARE_FDS > hardFds) {
    problems.push(`open files per process: a worker holds ${share} streams and a generator ${genShare} sockets, plus ${SPARE_FDS} spare, ` +
      `but the hard limit (ulimit -Hn) is ${hardFds}. Use --workers ${Math.ceil(clients / Math.max(1, hardFds - SPARE_FDS))} --generators ${Math.ceil(clients / Math.max(1, hardFds - SPARE_FDS))} (the default), ` +
      'or raise the hard limit (/etc/security/limits.conf "nofile", or LimitNOFILE= for a systemd unit)')
  }
  const fileMax = readInts('/proc/sys/fs/file-max')?.[0]
  const inUse = readInts('/proc/sys/fs/file-nr')?.[0] ?? 0
  if (fileMax !== undefined && fileMax - inUse < 2 * clients + 10_000) {
    problems.push(`open files system-wide: ${2 * clients + 10_000} needed (two sockets per client + spare), ${fileMax - inUse} free of fs.file-max ${fileMax}: sudo sysctl -w fs.file-max=${4 * clients}`)
  }
  const nrOpen = readInts('/proc/sys/fs/nr_open')?.[0]
  if (nrOpen !== undefined && nrOpen < Math.min(share, genShare) + SPARE_FDS) problems.push(`fs.nr_open ${nrOpen} is below one process's share: sudo sysctl -w fs.nr_open=1048576`)
  if (sources > 253) problems.push(`${sources} loopback source addresses needed (127.0.0.2 ... ) but only 253 exist: widen net.ipv4.ip_local_port_range (now ${portLow}-${portHigh})`)
  if (Math.ceil(clients / sources) > portsPerSource) {
    problems.push(`ephemeral ports: ${Math.ceil(clients / sources)} connections per source address, ${portsPerSource} ports in net.ipv4.ip_local_port_range (${portLow}-${portHigh}): use more --sources or sudo sysctl -w net.ipv4.ip_local_port_range="1024 65535"`)
  }
  const somaxconn = readInts('/proc/sys/net/core/somaxconn')?.[0]
  if (somaxconn !== undefined && somaxconn < concurrency * generators) {
    problems.push(`net.core.somaxconn is ${somaxconn}, below the ${concurrency * generators} connects in flight (--concurrency x generators): lower --concurrency or sudo sysctl -w net.core.somaxconn=4096`)
  }
  const conntrackMax = readInts('/proc/sys/net/netfilter/nf_conntrack_max')?.[0]
  if (conntrackMax !== undefined && conntrackMax < 2 * clients) {
    problems.push(`connection tracking is on and nf_conntrack_max is ${conntrackMax}: past it the kernel drops new connections; sudo sysctl -w net.netfilter.nf_conntrack_max=${4 * clients}`)
  }
  // Measured here: ~15 KB per stream in the workers and ~6 KB per socket in a generator, plus the kernel's.
  const memory = clients * 40 * 1024
  if (freemem() < memory) problems.push(`memory: about ${(memory / 2 ** 30).toFixed(1)} GiB needed (~40 KB per client: server, generator, kernel), ${(freemem() / 2 ** 30).toFixed(1)} GiB free`)
  return problems
}

// ---------------------------------------------------------------------------------------------------------
// Processes: every one started is remembered and stopped at the end, on failure and on Ctrl-C.

const started: Array<{ name: string, child: ChildProcess }> = []

function launch (name: string, command: string, args: string[], options: { env?: Record<string, string>, ipc?: boolean } = {}): ChildProcess {
  // `ulimit -n` raises the soft limit to the hard one for exactly this process; exec keeps the PID.
  const child = spawn('bash', ['-c', 'ulimit -n "$0" && exec "$@"', String(hardFds), command, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.ipc === true ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit']
  })
  started.push({ name, child })
  // A process that ends before we stop it is the first thing a failure report should name.
  child.once('exit', (code, signal) => { if (!stopping) deaths.push(`${name} (pid ${child.pid}) exited: code ${code}, signal ${signal}`) })
  return child
}
const deaths: string[] = []

const alive = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null

async function stopAll (): Promise<void> {
  // Generators first (their sockets close), then the cluster (it drains what is left), then Redis.
  for (const group of [['generator'], ['cluster'], ['redis']]) {
    const children = started.filter((s) => group.includes(s.name.split(' ')[0]) && alive(s.child)).map((s) => s.child)
    for (const child of children) child.kill('SIGTERM')
    const deadline = Date.now() + 10_000
    while (children.some(alive) && Date.now() < deadline) await sleep(50)
    for (const child of children) if (alive(child)) child.kill('SIGKILL')
    while (children.some(alive) && Date.now() < deadline + 5_000) await sleep(50)
  }
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    process.stderr.write(`scale-test: ${signal}: stopping every process it started\n`)
    void stopAll().then(() => process.exit(130))
  })
}
// Last resort (an exception past the handlers): no process may outlive this one.
process.on('exit', () => { for (const { child } of started) if (alive(child)) child.kill('SIGKILL') })

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const wallNow = (): number => performance.timeOrigin + performance.now()

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Resolves with the first stdout line matching `pattern`, rejects if the process exits or `ms` pass. */
function lineOf (child: ChildProcess, pattern: RegExp, ms: number, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text
      const match = pattern.exec(out)
      if (match !== null) { clearTimeout(timer); resolve(match) }
    })
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${what}: exited (code ${code}, signal ${signal})`)) })
  })
}

// ---------------------------------------------------------------------------------------------------------
// Per-process figures from /proc: resident memory, CPU time (utime + stime, clock ticks).

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100
function rssBytes (pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readText(`/proc/${pid}/status`) ?? '')
  return match === null ? 0 : Number(match[1]) * 1024
}
function cpuMs (pid: number): number {
  const stat = readText(`/proc/${pid}/stat`)
  if (stat === null) return 0
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
}
/** Kernel memory of TCP sockets (all of them: both ends of every loopback connection), bytes. */
function tcpKernelBytes (): number {
  const match = /TCP: .* mem (\d+)/.exec(readText('/proc/net/sockstat') ?? '')
  return match === null ? 0 : Number(match[1]) * 4096
}

// ---------------------------------------------------------------------------------------------------------
// Generators over IPC.

interface Generator { child: ChildProcess, pid: number, count: number, next: (type: string, ms: number) => Promise<any> }

function startGenerator (index: number): Promise<Generator> {
  const child = launch(`generator ${index}`, process.execPath, ['--import', 'tsx', join(HERE, 'scale-generator.ts')], { ipc: true })
  const inbox: any[] = []
  let wake: (() => void) | null = null
  child.on('message', (message) => { inbox.push(message); wake?.() })
  child.once('exit', () => wake?.())
  const next = async (type: string, ms: number): Promise<any> => {
    const deadline = Date.now() + ms
    for (;;) {
      const at = inbox.findIndex((message) => message.type === type)
      if (at !== -1) return inbox.splice(at, 1)[0]
      if (!alive(child)) throw new Error(`generator ${index} exited (code ${child.exitCode}, signal ${child.signalCode})`)
      if (Date.now() > deadline) throw new Error(`generator ${index}: no '${type}' within ${ms} ms`)
      await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 100) })
      wake = null
    }
  }
  return next('started', 30_000).then(() => ({ child, pid: child.pid!, count: 0, next }))
}

// ---------------------------------------------------------------------------------------------------------

const percentile = (sorted: number[], p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
const KB = (bytes: number): string => (bytes / 1024).toFixed(1)
const int = (x: number): string => Math.round(x).toLocaleString('en-US')
const fmtMs = (x: number): string => (x < 100 ? x.toFixed(1) : int(x))

async function main (): Promise<Record<string, unknown>> {
  const t0 = performance.now()
  const problems = checkLimits()
  if (problems.length > 0) throw new Error(`this machine cannot hold ${clients} clients as configured:\n- ${problems.join('\n- ')}`)
  console.log(`scale test: ${int(clients)} clients, ${workers} workers, ${generators} generators over ${sources} source addresses (127.0.0.2...), ` +
    `${bursts} + ${slowBursts} slow + 1 bursts of ${eventsPerBurst} events, ${slowEvery === 0 ? 'no' : `1 in ${slowEvery}`} slow clients; open files per process ${hardFds}`)

  // Redis, on a free port (never 6379), nothing saved to disk.
  const redisPort = await freePort()
  const redis = launch('redis', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '10000'])
  await lineOf(redis, /Ready to accept connections/, 15_000, 'redis-server (is it installed? apt-get install redis-server)')
  const redisUrl = `redis://127.0.0.1:${redisPort}/0`

  // The workers, sharing one port.
  const cluster = launch('cluster', process.execPath, ['--import', 'tsx', join(HERE, 'cluster.ts')], {
    env: { WORKERS: String(workers), PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisUrl, LOG_LEVEL: 'warn', MAX_CONNECTIONS: String(hardFds), SSE_HEARTBEAT_SECONDS: '15' }
  })
  // The generators start meanwhile (each process takes a while to load).
  const [ready, gens] = await Promise.all([
    lineOf(cluster, /^ready (\d+) workers ([\d,]+)$/m, 120_000, 'the cluster'),
    Promise.all(Array.from({ length: generators }, (_, i) => startGenerator(i)))
  ])
  const port = Number(ready[1])
  const workerPids = ready[2].split(',').map(Number)
  const base = `http://127.0.0.1:${port}`
  const store = new Redis(redisUrl, { maxRetriesPerRequest: 2 })
  const firstId = Number(await store.get('tasks:next') ?? 0) + 1
  await store.quit()

  const serverPids = [cluster.pid!, ...workerPids]
  // Named up front, so whoever stops this script (Ctrl-C, a test) can check that none of them outlives it.
  console.log(`processes: redis ${redis.pid}, cluster ${cluster.pid} (workers ${workerPids.join(',')}), generators ${gens.map((g) => g.pid).join(',')}; started in ${fmtMs(performance.now() - t0)} ms`)
  const sum = (pids: number[], f: (pid: number) => number): number => pids.reduce((acc, pid) => acc + f(pid), 0)
  const genPids = gens.map((g) => g.pid)
  const rssBefore = { servers: sum(serverPids, rssBytes), redis: rssBytes(redis.pid!), generators: sum(genPids, rssBytes), kernel: tcpKernelBytes() }

  // Connect: every generator its share, at most --concurrency connects in flight each.
  const sourceList = Array.from({ length: sources }, (_, i) => `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`)
  const connectStart = performance.now()
  gens.forEach((g, i) => {
    g.count = Math.floor(clients / generators) + (i < clients % generators ? 1 : 0)
    // Every generator uses every source address, starting at a different one.
    g.child.send({ type: 'connect', port, count: g.count, sources: [...sourceList.slice(i % sources), ...sourceList.slice(0, i % sources)], concurrency, slowEvery, firstId, maxEvents: totalEvents })
  })
  const connected = await Promise.all(gens.map((g) => g.next('connected', Math.max(timeoutMs, clients * 2))))
  const connectMs = performance.now() - connectStart
  const connectFailed = connected.reduce((acc, c) => acc + c.failed, 0)
  if (connectFailed > 0) throw new Error(`${connectFailed} of ${clients} clients could not open their stream: ${connected.flatMap((c) => c.sample).join('; ')}`)
  console.log(`connected ${int(clients)} streams in ${fmtMs(connectMs)} ms`)
  await sleep(2000)
  const rssAfter = { servers: sum(serverPids, rssBytes), redis: rssBytes(redis.pid!), generators: sum(genPids, rssBytes), kernel: tcpKernelBytes() }
  const perWorker = workerPids.map(rssBytes)

  // Bursts. Each task is created after the previous one was answered: the ids (one Redis counter) are then
  // also the order of the publishes, which is the order every client must see.
  const sentAt: number[] = []
  let nextId = firstId
  const cpu0 = { servers: sum(serverPids, cpuMs), workers: workerPids.map(cpuMs), redis: cpuMs(redis.pid!), generators: sum(genPids, cpuMs) }
  const phases: Array<{ kind: 'all' | 'slow' | 'resume', from: number, to: number, catchUpMs?: number }> = []
  const awaitAll = async (upTo: number, who: 'fast' | 'all'): Promise<void> => {
    gens.forEach((g) => g.child.send({ type: 'await', upTo, who, timeoutMs }))
    const answers = await Promise.all(gens.map((g) => g.next('reached', timeoutMs + 5_000)))
    const short = answers.filter((a) => !a.ok)
    if (short.length > 0) throw new Error(`not every client received task ${upTo} within ${timeoutMs} ms: ${short.map((a) => `${a.done}/${a.target}`).join(', ')}`)
  }
  const burst = async (kind: 'all' | 'slow' | 'resume'): Promise<void> => {
    const from = nextId
    for (let e = 0; e < eventsPerBurst; e++) {
      sentAt.push(wallNow())
      const response = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: `scale ${nextId}` }) })
      const task = await response.json() as { id?: number }
      if (response.status !== 201 || task.id !== nextId) throw new Error(`POST /tasks answered ${response.status} ${JSON.stringify(task)}, expected task ${nextId} (is someone else writing to this Redis?)`)
      nextId++
    }
    phases.push({ kind, from, to: nextId - 1 })
    // While the slow share is paused, only the others must have everything.
    await awaitAll(nextId - 1, kind === 'slow' ? 'fast' : 'all')
    await sleep(300)
  }
  for (let b = 0; b < bursts; b++) await burst('all')
  if (slowBursts > 0 && slowEvery > 0) {
    gens.forEach((g) => g.child.send({ type: 'slow', paused: true }))
    for (let b = 0; b < slowBursts; b++) await burst('slow')
    const resumeAt = performance.now()
    gens.forEach((g) => g.child.send({ type: 'slow', paused: false }))
    await awaitAll(nextId - 1, 'all')
    phases[phases.length - 1].catchUpMs = performance.now() - resumeAt
  }
  await burst('resume')
  const cpu1 = { servers: sum(serverPids, cpuMs), workers: workerPids.map(cpuMs), redis: cpuMs(redis.pid!), generators: sum(genPids, cpuMs) }
  const lastId = nextId - 1

  // Every client, every event, in order, once.
  gens.forEach((g) => g.child.send({ type: 'report', lastId }))
  const reports = await Promise.all(gens.map((g) => g.next('report', 60_000)))
  const total = (key: string): number => reports.reduce((acc, r) => acc + (r[key] as number), 0)
  const lost = total('lost')
  const dup = total('dup')
  const outOfOrder = total('outOfOrder')
  const failed = total('failed')
  const resets = total('resets')
  const slowClients = total('slow')

  // Time for one event to reach every client: the last receipt among all generators minus its send time.
  const reach = (phase: (typeof phases)[number], key: 'lastAtAll' | 'lastAtFast'): number[] => {
    const out: number[] = []
    for (let id = phase.from; id <= phase.to; id++) {
      const i = id - firstId
      out.push(Math.max(...reports.map((r) => r[key][i] as number)) - sentAt[i])
    }
    return out
  }
  const normal = phases.filter((p) => p.kind !== 'slow')
  const reachAll = normal.flatMap((p) => reach(p, 'lastAtAll')).sort((a, b) => a - b)
  const reachFastWhileSlow = phases.filter((p) => p.kind === 'slow').flatMap((p) => reach(p, 'lastAtFast')).sort((a, b) => a - b)
  // Delivered events/s of a burst: every delivery of it over the time from its first send to its last receipt.
  const rates = normal.map((p) => {
    const last = Math.max(...reports.map((r) => Math.max(...(r.lastAtAll as number[]).slice(p.from - firstId, p.to - firstId + 1))))
    return (clients * (p.to - p.from + 1)) / ((last - sentAt[p.from - firstId]) / 1000)
  }).sort((a, b) => a - b)
  const deliveries = clients * (lastId - firstId + 1)
  const perK = (ms: number): number => (ms / deliveries) * 1000
  const ok = lost === 0 && dup === 0 && outOfOrder === 0 && failed === 0 && resets === 0
  const slowPhase = phases.find((p) => p.catchUpMs !== undefined)

  const result = {
    ok,
    clients,
    workers,
    generators,
    sources,
    events: lastId - firstId + 1,
    slowClients,
    connectMs: Math.round(connectMs),
    memPerConnBytes: {
      servers: Math.round((rssAfter.servers - rssBefore.servers) / clients),
      redis: Math.round((rssAfter.redis - rssBefore.redis) / clients),
      generators: Math.round((rssAfter.generators - rssBefore.generators) / clients),
      kernelTcp: Math.round((rssAfter.kernel - rssBefore.kernel) / clients)
    },
    workerRssMiB: perWorker.map((bytes) => Math.round(bytes / 2 ** 20)),
    reachAllMs: { p50: percentile(reachAll, 0.5), p99: percentile(reachAll, 0.99), max: reachAll.at(-1) ?? NaN, events: reachAll.length },
    reachOthersWhileSlowMs: { p50: percentile(reachFastWhileSlow, 0.5), p99: percentile(reachFastWhileSlow, 0.99), events: reachFastWhileSlow.length },
    slowCatchUpMs: slowPhase?.catchUpMs === undefined ? null : Math.round(slowPhase.catchUpMs),
    slowReconnects: total('slowReconnects'),
    reconnects: total('reconnects'),
    eventsPerSec: { median: percentile(rates, 0.5), min: rates[0] ?? NaN, max: rates.at(-1) ?? NaN },
    cpuPer1000DeliveriesMs: {
      workers: perK(cpu1.servers - cpu0.servers),
      perWorker: cpu1.workers.map((ms, i) => perK(ms - cpu0.workers[i])),
      redis: perK(cpu1.redis - cpu0.redis),
      generators: perK(cpu1.generators - cpu0.generators)
    },
    redisCpuPerEventMs: (cpu1.redis - cpu0.redis) / (lastId - firstId + 1),
    lost,
    dup,
    outOfOrder,
    resets,
    failed,
    pids: { redis: redis.pid, cluster: cluster.pid, workers: workerPids, generators: genPids }
  }

  const table = [
    '| figure | value |',
    '|---|---:|',
    `| concurrent streams (one topic) | ${int(clients)} over ${workers} workers, ${generators} generators, ${sources} source addresses |`,
    `| connect all | ${fmtMs(connectMs)} ms |`,
    `| memory per connection: servers / Redis / generators / kernel TCP | ${KB(result.memPerConnBytes.servers)} / ${KB(result.memPerConnBytes.redis)} / ${KB(result.memPerConnBytes.generators)} / ${KB(result.memPerConnBytes.kernelTcp)} KB |`,
    `| one event to all ${int(clients)}: p50 / p99 / max (${reachAll.length} events) | ${fmtMs(result.reachAllMs.p50)} / ${fmtMs(result.reachAllMs.p99)} / ${fmtMs(result.reachAllMs.max)} ms |`,
    `| delivered events/s per burst: median (min - max) | ${int(result.eventsPerSec.median)} (${int(result.eventsPerSec.min)} - ${int(result.eventsPerSec.max)}) |`,
    `| while ${int(slowClients)} slow clients stopped reading: one event to the other ${int(clients - slowClients)}, p50 / p99 | ${fmtMs(result.reachOthersWhileSlowMs.p50)} / ${fmtMs(result.reachOthersWhileSlowMs.p99)} ms |`,
    `| slow clients: caught up after reading again / streams closed and resumed | ${result.slowCatchUpMs === null ? '-' : `${int(result.slowCatchUpMs)} ms`} / ${result.slowReconnects} |`,
    `| CPU per 1,000 deliveries: workers / Redis / generators | ${result.cpuPer1000DeliveriesMs.workers.toFixed(3)} / ${result.cpuPer1000DeliveriesMs.redis.toFixed(4)} / ${result.cpuPer1000DeliveriesMs.generators.toFixed(3)} ms |`,
    `| Redis CPU per published event | ${result.redisCpuPerEventMs.toFixed(3)} ms |`,
    `| lost / duplicated / out of order / failed streams / resets | ${lost} / ${dup} / ${outOfOrder} / ${failed} / ${resets} |`
  ]
  console.log(table.join('\n'))
  const samples = reports.flatMap((r) => r.samples).slice(0, 3)
  console.log(ok
    ? 'OK: every client received every event, in order, exactly once'
    : `FAILED: lost ${lost}, duplicated ${dup}, out of order ${outOfOrder}, failed streams ${failed}, resets ${resets}${samples.length > 0 ? `; ${samples.join('; ')}` : ''}`)
  for (const g of gens) g.child.send({ type: 'close' })
  return result
}

let outcome: Record<string, unknown>
try {
  outcome = await main()
} catch (error) {
  const message = `${(error as Error).message}${deaths.length > 0 ? ` - ${deaths.join('; ')}` : ''}`
  outcome = { ok: false, error: message }
  process.stderr.write(`scale-test: ${message}\n`)
}
if (!stopping) {
  stopping = true
  await stopAll()
  console.log(JSON.stringify(outcome))
  process.exit(outcome.ok === true ? 0 : 1)
}
