/**
 * SSE fan-out benchmark runner (`npm run bench`). For every server in bench/servers.ts and every N it
 * starts a fresh server process (pinned to core 0), runs bench/loadgen.ts against it (pinned to core 1),
 * stops the server by its PID, then prints one markdown table with every figure (server CPU per delivered
 * event among them) also given as a ratio to the node-limit baseline at the same N, the targets of issue 14
 * beside the measured ratios, and the single-stream (burst) table. Raw results go to
 * bench/results/<timestamp>.json. See bench/README.md.
 *
 *   npm run bench                                   # N = 1,000 and 10,000, K = 100, B = 200
 *   npm run bench -- --quick                        # smoke run, N = 200
 *   npm run bench -- --servers node-http,better-sse --n 2000 --k 50 --b 1000
 *   npm run bench -- --scale                        # plus one run at the largest N the limits allow
 *   npm run bench -- --repeat 3                     # each cell = median of 3 runs (fresh server each)
 *   npm run bench -- --m 2000000 --no-burst         # burst size / skip the single-stream table
 *   npm run bench -- --profile --servers fastify-views --n 10000   # node --cpu-prof each server; self time
 *                                                   # by function over the fan-out window (figures skewed)
 *
 * Every flag has an environment twin: BENCH_SERVERS, BENCH_N, BENCH_K, BENCH_B, BENCH_M, BENCH_REPEAT,
 * BENCH_QUICK=1, BENCH_SCALE=1, BENCH_NO_BURST=1, BENCH_PROFILE=1 (flags win).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BASELINE, BURST_BASELINE, servers as allServers, type ServerDef } from './servers.js'
import { startBenchRedis } from './lib/redis.js'
import { formatSummary, readProfile, summarize } from './profile-summary.js'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH_DIR)
const WANTED_FDS = 20_000

const { values: flags } = parseArgs({
  options: {
    servers: { type: 'string' },
    n: { type: 'string' },
    k: { type: 'string' },
    b: { type: 'string' },
    m: { type: 'string' },
    quick: { type: 'boolean' },
    scale: { type: 'boolean' },
    'no-burst': { type: 'boolean' },
    profile: { type: 'boolean' },
    repeat: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }
})

if (flags.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0] + '*/\n')
  process.exit(0)
}

const env = process.env
const quick = flags.quick ?? env.BENCH_QUICK === '1'
const scale = flags.scale ?? env.BENCH_SCALE === '1'
const noBurst = flags['no-burst'] ?? env.BENCH_NO_BURST === '1'
const profile = flags.profile ?? env.BENCH_PROFILE === '1'
const list = (s: string): number[] => s.split(',').map((x) => Number(x.replace(/[_\s]/g, '')))
const nList = list(flags.n ?? env.BENCH_N ?? (quick ? '200' : '1000,10000'))
const K = Number(flags.k ?? env.BENCH_K ?? 100)
const B = Number(flags.b ?? env.BENCH_B ?? 200)
const M = Number(flags.m ?? env.BENCH_M ?? (quick ? 100_000 : 1_000_000))
const REPEAT = Number(flags.repeat ?? env.BENCH_REPEAT ?? 1)
for (const [name, v] of [['n', Math.min(...nList)], ['k', K], ['b', B], ['m', M], ['repeat', REPEAT]] as const) {
  if (!Number.isInteger(v) || v <= 0) fail(`bad --${name}`)
}
const wanted = (flags.servers ?? env.BENCH_SERVERS)?.split(',').map((s) => s.trim()).filter(Boolean)
const selected: ServerDef[] = wanted ? wanted.map((name) => allServers.find((s) => s.name === name) ?? fail(`unknown server ${name} (known: ${allServers.map((s) => s.name).join(', ')})`)) : allServers

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(2)
}

const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------------------
// Machine and limits.

const readNumber = (path: string): number | null => {
  try {
    return Number(readFileSync(path, 'utf8').trim().split(/\s+/)[0])
  } catch {
    return null
  }
}
const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0 && os.cpus().length >= 2
const hardFds = Number(spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()) || 1024
const nrOpen = readNumber('/proc/sys/fs/nr_open')
const fileMax = readNumber('/proc/sys/fs/file-max')
const fileNr = (): number | null => readNumber('/proc/sys/fs/file-nr') // first field: handles in use
const portRange = ((): [number, number] => {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    return [lo, hi]
  } catch {
    return [32768, 60999]
  }
})()
// The file limit both processes get (`ulimit -n` in the bash that execs them): 20,000 or less if the hard
// limit or nr_open is lower.
const FDS = Math.min(WANTED_FDS, hardFds === Infinity ? WANTED_FDS : hardFds, nrOpen ?? WANTED_FDS)
const SOURCES = 8 // loopback source addresses of the load generator: 127.0.0.2 .. 127.0.0.9

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  memGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  pinned: hasTaskset ? 'server on core 0, load generator on core 1 (taskset)' : 'not pinned (no taskset or < 2 cores)',
  fdLimitPerProcess: FDS,
  fileMax,
  nrOpen
}

// ---------------------------------------------------------------------------------------------------------
// Processes: `bash -c 'ulimit -n L && exec "$@"'` so the limit is raised for exactly that process, then
// `taskset -c CORE node ...`; exec keeps the PID, so the PID we hold is the node process itself.

function launch(core: number, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const pin = hasTaskset ? ['taskset', '-c', String(core)] : []
  return spawn('bash', ['-c', 'ulimit -n "$0" && exec "$@"', String(FDS), ...pin, process.execPath, ...args], {
    cwd: ROOT,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

interface Running {
  child: ChildProcess
  port: number
  /** The redis-server started for this server, if any (its CPU is reported apart). */
  redisPid?: number
  stderr: () => string
  exited: () => string | null
}

function tail(lines: string[], text: string): void {
  lines.push(...text.split('\n').filter(Boolean))
  if (lines.length > 20) lines.splice(0, lines.length - 20)
}

async function startServer(def: ServerDef, profileDir?: string, timeoutMs = 30_000): Promise<Running> {
  if (def.redis !== true) return startProcess(def, {}, timeoutMs, profileDir)
  const redis = await startBenchRedis()
  try {
    const running = await startProcess(def, { REDIS_URL: redis.url }, timeoutMs, profileDir)
    running.child.once('exit', () => void redis.stop())
    return { ...running, redisPid: redis.pid }
  } catch (err) {
    await redis.stop()
    throw err
  }
}

function startProcess(def: ServerDef, extraEnv: Record<string, string>, timeoutMs: number, profileDir?: string): Promise<Running> {
  return new Promise((resolve, reject) => {
    // --cpu-prof writes the profile when the process exits (the servers exit on SIGTERM).
    const prof = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]
    const child = launch(0, ['--expose-gc', ...prof, '--import', 'tsx', join(BENCH_DIR, def.file)], { PORT: '0', HOST: '127.0.0.1', ...extraEnv })
    const errLines: string[] = []
    let exit: string | null = null
    let out = ''
    const timer = setTimeout(() => {
      stop(child).catch(() => undefined)
      reject(new Error(`no "ready <port>" within ${timeoutMs} ms; stderr: ${errLines.join(' | ').slice(-500)}`))
    }, timeoutMs)
    child.stderr!.setEncoding('utf8').on('data', (t: string) => tail(errLines, t))
    child.on('exit', (code, signal) => {
      exit = `exited (code ${code}, signal ${signal})`
      clearTimeout(timer)
      reject(new Error(`server ${exit} before ready; stderr: ${errLines.join(' | ').slice(-500)}`))
    })
    child.stdout!.setEncoding('utf8').on('data', (t: string) => {
      out += t
      const m = /^ready (\d+)$/m.exec(out)
      if (m) {
        clearTimeout(timer)
        out = ''
        resolve({ child, port: Number(m[1]), stderr: () => errLines.join('\n'), exited: () => exit })
      }
    })
  })
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited (bounded). */
async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  process.kill(child.pid, 'SIGTERM')
  const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)])
  if (timedOut && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL')
    await Promise.race([exited, sleep(5000)])
  }
}

function runLoadgen(args: string[], timeoutMs: number): Promise<any> {
  return new Promise((resolve) => {
    const child = launch(1, ['--import', 'tsx', join(BENCH_DIR, 'loadgen.ts'), ...args])
    let out = ''
    const errLines: string[] = []
    child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t))
    child.stderr!.setEncoding('utf8').on('data', (t: string) => tail(errLines, t))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      void stop(child, 3000)
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').pop() ?? ''
      let parsed: any = null
      try {
        parsed = JSON.parse(line)
      } catch {
        /* not JSON */
      }
      if (parsed && !timedOut) return resolve(parsed)
      resolve({
        ok: false,
        error: timedOut ? `load generator timed out after ${timeoutMs / 1000} s` : `load generator exited (code ${code}, signal ${signal}) without a result`,
        stderr: errLines.join('\n').slice(-1000)
      })
    })
  })
}

// ---------------------------------------------------------------------------------------------------------
// The largest N for --scale.

/**
 * How the --scale N is chosen (one N for all selected servers, so their rows stay comparable):
 * - File descriptors per process: each SSE connection costs the server one descriptor (the accepted socket)
 *   and the load generator one (its socket). Both run under `ulimit -n FDS` where FDS = min(20,000, the hard
 *   limit `ulimit -Hn`, /proc/sys/fs/nr_open). Node itself holds a few dozen descriptors (stdio, epoll,
 *   eventfds, libuv's thread pool, tsx) and the control requests (publish/stats) a few more, so 500 are
 *   kept spare: N <= FDS - 500.
 * - File descriptors system-wide: the two processes together need 2N of what /proc/sys/fs/file-max leaves
 *   free (file-max minus the handles in use from /proc/sys/fs/file-nr), with 10,000 spare.
 * - Ephemeral ports: the load generator binds each socket to one of 8 source addresses (127.0.0.2..9), each
 *   with the whole ip_local_port_range: N <= 8 x range size (minus TIME_WAIT leftovers, hence half of it).
 * - Memory: from the runs already done, server RSS per connection after the burst (the worst selected
 *   server) plus the load generator's RSS per connection; N must fit in half of the free memory.
 * The minimum of these, rounded down to a multiple of 1,000.
 */
function scaleN(done: Result[]): { n: number; why: Record<string, number> } {
  const why: Record<string, number> = {}
  why.perProcessFds = FDS - 500
  const used = fileNr()
  if (fileMax !== null && used !== null) why.systemFds = Math.floor((fileMax - used - 10_000) / 2)
  why.ephemeralPorts = Math.floor((SOURCES * (portRange[1] - portRange[0] + 1)) / 2)
  let perConn = 0
  for (const r of done) {
    const d = r.data
    if (r.ok && d?.rssAfterBurst && d.rssBefore && d.connected) {
      perConn = Math.max(perConn, (d.rssAfterBurst - d.rssBefore) / d.connected + (d.loadgenRss ?? 0) / d.connected)
    }
  }
  if (perConn > 0) why.memory = Math.floor(os.freemem() / 2 / perConn)
  const n = Math.floor(Math.min(...Object.values(why)) / 1000) * 1000
  return { n, why }
}

// ---------------------------------------------------------------------------------------------------------
// Measurements.

interface Result {
  server: string
  n: number
  /** 1-minute load average of the machine just before the cell started (other work skews the figures). */
  load?: number
  ok: boolean
  error?: string
  data?: any
  serverExit?: string | null
  serverStderr?: string
}

// Per measurement: the load generator's own bounds are connect 120 s + reach 30 s + burst 180 s (each also
// ends after 20 s without progress); the runner adds a margin and kills it beyond that.
const LOADGEN_TIMEOUT_MS = 400_000

/**
 * REPEAT runs of one (server, N), each with a fresh server process. One run is returned as is; several are
 * merged: the median of every figure, lost / out-of-order / dup summed, valid only if every run was.
 */
async function measure(def: ServerDef, n: number): Promise<Result> {
  const runs: Result[] = []
  for (let i = 0; i < REPEAT; i++) runs.push(await measureOnce(def, n))
  if (runs.length === 1) return runs[0]
  const failed = runs.find((r) => !r.ok)
  if (failed) return { ...failed, error: `run ${runs.indexOf(failed) + 1} of ${runs.length}: ${failed.error}` }
  const data = runs.map((r) => r.data)
  const median = (get: (d: any) => number | null): number | null => {
    const xs = data.map(get).filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
    return xs.length ? xs[Math.floor((xs.length - 1) / 2)] : null
  }
  const sum = (get: (d: any) => number): number => data.reduce((acc, d) => acc + (get(d) ?? 0), 0)
  const merged = {
    ...data[0],
    connectAllMs: median((d) => d.connectAllMs),
    memPerConnBytes: median((d) => d.memPerConnBytes),
    eventsPerSec: median((d) => d.eventsPerSec),
    serverCpuMs: median((d) => d.serverCpuMs),
    redisCpuMs: median((d) => d.redisCpuMs),
    delivered: median((d) => d.delivered),
    cpuPerKDeliveriesMs: median(cpuPerK),
    redisCpuPerKDeliveriesMs: median((d) => perK(d.redisCpuMs, d.delivered)),
    latencyMs: { p50: median((d) => d.latencyMs.p50), p99: median((d) => d.latencyMs.p99), max: median((d) => d.latencyMs.max) },
    reachAllMs: median((d) => d.reachAllMs),
    connectFailed: sum((d) => d.connectFailed),
    lost: sum((d) => d.lost),
    outOfOrder: sum((d) => d.outOfOrder),
    dup: sum((d) => d.dup),
    malformed: sum((d) => d.malformed),
    badJson: sum((d) => d.badJson),
    valid: data.every((d) => d.valid),
    notes: data.flatMap((d, i) => (d.notes as string[]).map((note) => `run ${i + 1}: ${note}`)),
    runs: data
  }
  return { server: def.name, n, ok: true, data: merged }
}

/** CPU ms per 1,000 delivered events (null when either is unknown). */
const perK = (cpuMs: number | null | undefined, delivered: number | null | undefined): number | null =>
  typeof cpuMs === 'number' && typeof delivered === 'number' && delivered > 0 ? (cpuMs / delivered) * 1000 : null
const cpuPerK = (d: any): number | null => perK(d.serverCpuMs, d.delivered)

async function measureOnce(def: ServerDef, n: number): Promise<Result> {
  const r = await measureOnceRaw(def, n)
  if (r.ok) Object.assign(r.data, { cpuPerKDeliveriesMs: cpuPerK(r.data), redisCpuPerKDeliveriesMs: perK(r.data.redisCpuMs, r.data.delivered) })
  return { ...r, load: Number(os.loadavg()[0].toFixed(2)) }
}

const started = Date.now()
const profileRoot = join(BENCH_DIR, 'results', 'profiles', new Date(started).toISOString().replace(/[:.]/g, '-'))

async function measureOnceRaw(def: ServerDef, n: number): Promise<Result> {
  let server: Running
  const profileDir = profile ? join(profileRoot, `${def.name}-${n}-${Date.now()}`) : undefined
  try {
    server = await startServer(def, profileDir)
  } catch (err) {
    return { server: def.name, n, ok: false, error: (err as Error).message }
  }
  let result: Result | undefined
  try {
    const pids = ['--server-pid', String(server.child.pid), ...(server.redisPid === undefined ? [] : ['--redis-pid', String(server.redisPid)])]
    const data = await runLoadgen(['--port', String(server.port), '--n', String(n), '--k', String(K), '--b', String(B), ...pids], LOADGEN_TIMEOUT_MS)
    const exit = server.exited()
    if (!data.ok) return { server: def.name, n, ok: false, error: `${data.error ?? 'failed'}${data.stderr ? ` | ${data.stderr}` : ''}`, serverExit: exit, serverStderr: server.stderr() }
    result = { server: def.name, n, ok: true, data, serverExit: exit, serverStderr: server.stderr() || undefined }
    return result
  } finally {
    await stop(server.child)
    if (profileDir !== undefined && result?.ok) attachProfile(result, profileDir)
  }
}

/** Self time by function of the server over the fan-out window, from the profile it wrote on exit. */
function attachProfile(result: Result, dir: string): void {
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined
  if (file === undefined) {
    result.data.profile = { error: `no .cpuprofile in ${dir}` }
    return
  }
  const [from, to] = result.data.fanoutWindowMonoUs as [number, number]
  const summary = summarize(readProfile(join(dir, file)), { from, to })
  result.data.profile = { file: relative(ROOT, join(dir, file)), busyMs: summary.busyMs, functions: summary.functions.slice(0, 40), areas: summary.areas.slice(0, 20) }
  result.data.profileText = formatSummary(summary, 20)
}

async function measureBurst(def: ServerDef): Promise<Result> {
  let server: Running
  try {
    server = await startServer(def)
  } catch (err) {
    return { server: def.name, n: 1, ok: false, error: (err as Error).message }
  }
  try {
    const data = await runLoadgen(['--burst', '--port', String(server.port), '--m', String(M), '--b', String(B), '--repeats', quick ? '1' : '3'], LOADGEN_TIMEOUT_MS)
    if (!data.ok) return { server: def.name, n: 1, ok: false, error: data.error ?? 'failed', serverExit: server.exited() }
    return { server: def.name, n: 1, ok: true, data }
  } finally {
    await stop(server.child)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tables.

const int = (x: number): string => Math.round(x).toLocaleString('en-US')
function fmtMs(x: number): string {
  if (x < 10) return x.toFixed(2)
  if (x < 100) return x.toFixed(1)
  return int(x)
}
const fmtKB = (bytes: number): string => (bytes / 1024).toFixed(1)

function cell(value: number | null | undefined, base: number | null | undefined, fmt: (x: number) => string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a'
  if (base === null || base === undefined || !Number.isFinite(base) || base === 0) return fmt(value)
  return `${fmt(value)} (${(value / base).toFixed(2)}x)`
}

function fanoutTable(results: Result[], notes: string[]): string {
  const head = ['server', 'N', 'connect all (ms)', 'mem/conn (KB)', 'delivered events/s', 'server CPU per 1,000 deliveries (ms)', 'p50 (ms)', 'p99 (ms)', 'max (ms)', 'reach all (ms)', 'lost / out-of-order / dup']
  const rows: string[] = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`]
  const ns = [...new Set(results.map((r) => r.n))].sort((a, b) => a - b)
  for (const n of ns) {
    const base = results.find((r) => r.n === n && r.server === BASELINE && r.ok)?.data
    for (const r of results.filter((x) => x.n === n)) {
      const mark = (text: string): string => {
        notes.push(`${r.server} N=${int(n)}: ${text}`)
        return ` [${notes.length}]`
      }
      if (!r.ok) {
        rows.push(`| ${r.server}${mark(`failed: ${oneLine(r.error)}`)} | ${int(n)} | failed | | | | | | | | |`)
        continue
      }
      const d = r.data
      const b = r.server === BASELINE ? d : base
      let name = r.server
      const issues: string[] = []
      if (!d.valid) issues.push('INVALID run')
      if (d.connectFailed) issues.push(`${int(d.connectFailed)} of ${int(n)} connections failed`)
      if (d.notes?.length) issues.push(...d.notes)
      if (d.malformed || d.badJson) issues.push(`malformed ${d.malformed}, bad JSON ${d.badJson}`)
      // /proc/<pid>/stat counts whole clock ticks: below 20 ticks in the window the figure is coarse.
      if (typeof d.serverCpuMs === 'number' && typeof d.clockTickMs === 'number' && d.serverCpuMs < 20 * d.clockTickMs) {
        issues.push(`server CPU ${fmtMs(d.serverCpuMs)} ms in the window: ± ${int((d.clockTickMs / Math.max(d.serverCpuMs, d.clockTickMs)) * 100)} % (clock tick ${d.clockTickMs} ms)`)
      }
      if (typeof d.redisCpuPerKDeliveriesMs === 'number') issues.push(`redis-server CPU per 1,000 deliveries ${d.redisCpuPerKDeliveriesMs.toFixed(3)} ms (not in the server column)`)
      if (issues.length) name += mark(oneLine(issues.join('; ')))
      const bad = d.lost || d.outOfOrder || d.dup
      const lostOoo = `${int(d.lost)} / ${int(d.outOfOrder)} / ${int(d.dup ?? 0)}${bad ? ' ⚠' : ''}`
      rows.push(
        `| ${name} | ${int(n)} | ${cell(d.connectAllMs, b?.connectAllMs, fmtMs)} | ${cell(d.memPerConnBytes, b?.memPerConnBytes, fmtKB)} | ` +
          `${cell(d.eventsPerSec, b?.eventsPerSec, int)} | ${cell(d.cpuPerKDeliveriesMs, b?.cpuPerKDeliveriesMs, fmtCpu)} | ` +
          `${cell(d.latencyMs.p50, b?.latencyMs.p50, fmtMs)} | ${cell(d.latencyMs.p99, b?.latencyMs.p99, fmtMs)} | ` +
          `${cell(d.latencyMs.max, b?.latencyMs.max, fmtMs)} | ${cell(d.reachAllMs, b?.reachAllMs, fmtMs)} | ${lostOoo} |`
      )
    }
  }
  return rows.join('\n')
}

const fmtCpu = (x: number): string => (x < 1 ? x.toFixed(3) : x.toFixed(2))

/**
 * Issue 14's targets beside the measured ratios: for every row that has targets (bench/servers.ts), at every
 * N, each ratio to the baseline of the same N and run, and whether it meets its target.
 */
function targetsTable(results: Result[]): string {
  const head = ['server', 'N', `events/s x ${BASELINE} (target)`, `server CPU per event x ${BASELINE} (target)`, `mem per idle conn x ${BASELINE} (target)`, 'delivery', 'all met']
  const rows: string[] = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`]
  const ratio = (v: number | null | undefined, b: number | null | undefined): number | null =>
    typeof v === 'number' && typeof b === 'number' && b > 0 ? v / b : null
  for (const r of results) {
    const def = allServers.find((s) => s.name === r.server)
    if (!def?.targets) continue
    const base = results.find((x) => x.n === r.n && x.server === BASELINE && x.ok)?.data
    if (!r.ok || !base) {
      rows.push(`| ${r.server} | ${int(r.n)} | ${r.ok ? `no ${BASELINE} row` : 'failed'} | | | | no |`)
      continue
    }
    const d = r.data
    const checks: boolean[] = []
    const show = (value: number | null, target: number | undefined, higherIsBetter: boolean): string => {
      if (value === null) {
        if (target !== undefined) checks.push(false)
        return 'n/a'
      }
      if (target === undefined) return `${value.toFixed(2)}x (-)`
      const met = higherIsBetter ? value >= target : value <= target
      checks.push(met)
      return `${value.toFixed(2)}x (${higherIsBetter ? '>=' : '<='} ${target}x) ${met ? 'met' : 'MISSED'}`
    }
    const t = def.targets
    const delivered = d.valid && !d.lost && !d.outOfOrder && !d.dup
    checks.push(delivered)
    rows.push(
      `| ${r.server} | ${int(r.n)} | ${show(ratio(d.eventsPerSec, base.eventsPerSec), t.eventsPerSec, true)} | ` +
        `${show(ratio(d.cpuPerKDeliveriesMs, base.cpuPerKDeliveriesMs), t.cpuPerEvent, false)} | ` +
        `${show(ratio(d.memPerConnBytes, base.memPerConnBytes), t.memPerConn, false)} | ${delivered ? 'every event, in order, once' : 'LOST / REORDERED / DUPLICATED'} | ${checks.every(Boolean) ? 'yes' : 'no'} |`
    )
  }
  return rows.join('\n')
}

function burstTable(results: Result[], notes: string[]): string {
  const head = ['server', 'events', 'bytes/event', 'events/s', 'MB/s', 'time (ms)']
  const rows: string[] = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 1 ? '---' : '---:')).join('|')}|`]
  const base = results.find((r) => r.server === BURST_BASELINE && r.ok)?.data
  for (const r of results) {
    if (!r.ok || !r.data.valid) {
      notes.push(`burst ${r.server}: ${oneLine(r.error ?? JSON.stringify(r.data?.runs?.map((x: any) => x.error ?? `${x.events} events`)))}`)
      rows.push(`| ${r.server} [${notes.length}] | ${int(M)} | ${B} | failed | | |`)
      continue
    }
    const d = r.data
    rows.push(`| ${r.server} | ${int(d.m)} | ${d.b} | ${cell(d.eventsPerSec, base?.eventsPerSec, int)} | ${cell(d.mbPerSec, base?.mbPerSec, (x) => x.toFixed(1))} | ${cell(d.ms, base?.ms, fmtMs)} |`)
  }
  return rows.join('\n')
}

const oneLine = (s: string | undefined): string => (s ?? '').replace(/\s*\n\s*/g, ' | ').replace(/\|/g, '/').slice(0, 400)

// ---------------------------------------------------------------------------------------------------------

const out = (s = ''): void => void process.stdout.write(s + '\n')
out(`# SSE fan-out benchmark`)
out()
out(`- machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}`)
out(`- node ${machine.node}; ${machine.pinned}; file limit per process ${int(FDS)} (file-max ${fileMax ?? '?'}, nr_open ${nrOpen ?? '?'})`)
const startLoad = os.loadavg()
out(`- load average at start: ${startLoad.map((x) => x.toFixed(2)).join(' / ')} (1/5/15 min)${startLoad[0] > 0.5 ? ' - other work is running on this machine: figures will be noisy' : ''}`)
out(`- matrix: N = ${nList.map(int).join(', ')}${scale ? ' + scale' : ''}; K = ${K} events of B = ${B} bytes; burst M = ${int(M)}; ${REPEAT > 1 ? `median of ${REPEAT} runs per cell; ` : ''}servers: ${selected.map((s) => s.name).join(', ')}`)
out()

const maxN = Math.max(...nList)
if (maxN > FDS - 500) log(`warning: N = ${maxN} is above the file limit per process (${FDS}) minus spare descriptors; expect failures`)

const results: Result[] = []
for (const n of nList) {
  for (const def of selected) {
    log(`${def.name} N=${n} ...`)
    const r = await measure(def, n)
    results.push(r)
    log(r.ok ? `${def.name} N=${n}: ${r.data.eventsPerSec} events/s, p99 ${r.data.latencyMs.p99} ms, lost ${r.data.lost}, out-of-order ${r.data.outOfOrder}` : `${def.name} N=${n}: FAILED ${oneLine(r.error).slice(0, 200)}`)
  }
}

let scaleInfo: ReturnType<typeof scaleN> | null = null
if (scale) {
  scaleInfo = scaleN(results)
  log(`scale: N = ${scaleInfo.n} (${Object.entries(scaleInfo.why).map(([k, v]) => `${k} ${v}`).join(', ')})`)
  if (scaleInfo.n > maxN) {
    for (const def of selected) {
      log(`${def.name} N=${scaleInfo.n} (scale) ...`)
      const r = await measure(def, scaleInfo.n)
      results.push(r)
      log(r.ok ? `${def.name} N=${scaleInfo.n}: ${r.data.eventsPerSec} events/s, lost ${r.data.lost}` : `${def.name}: FAILED ${oneLine(r.error).slice(0, 200)}`)
    }
  } else log('scale: not above the largest N already measured; skipped')
}

const burstResults: Result[] = []
if (!noBurst) {
  for (const def of selected.filter((s) => s.burst)) {
    log(`${def.name} burst M=${M} ...`)
    const r = { ...(await measureBurst(def)), load: Number(os.loadavg()[0].toFixed(2)) }
    burstResults.push(r)
    log(r.ok ? `${def.name} burst: ${r.data.eventsPerSec} events/s` : `${def.name} burst: FAILED ${oneLine(r.error)}`)
  }
}

const notes: string[] = []
out(`## Fan-out: N clients on one topic, K = ${K} events of ${B} bytes published in one go`)
out()
out(fanoutTable(results, notes))
out()
out(`## Single stream: ${int(M)} events of ${B} bytes to one client`)
out()
out(burstResults.length ? burstTable(burstResults, notes) : '(no server with `burst: true` selected)')
out()
out(`Fan-out ratios are value / ${BASELINE} at the same N, single-stream ratios value / ${BURST_BASELINE}: for events/s and MB/s higher is better, for times, CPU and memory lower is better.`)
out()
out(`## Targets (issue 14): ratios to ${BASELINE} in this run; the N = 10,000 rows are the ones the targets are set for`)
out()
out(targetsTable(results))
if (!selected.some((s) => s.name === BASELINE)) out(`(${BASELINE} not selected: no ratios)`)
if (scaleInfo) out(`Scale N = ${int(scaleInfo.n)}: min of ${Object.entries(scaleInfo.why).map(([k, v]) => `${k} ${int(v)}`).join(', ')}, rounded down to 1,000.`)
out()
for (const def of selected) if (def.note) out(`- ${def.name}: ${def.note}`)
if (notes.length) {
  out()
  out('Notes:')
  notes.forEach((note, i) => out(`${i + 1}. ${note}`))
}
if (profile) {
  out()
  out('## Profiles: server self time over the fan-out window (`node --cpu-prof`; profiled runs are slower, do not quote their figures)')
  for (const r of results) {
    out()
    out(`### ${r.server}, N = ${int(r.n)}${r.data?.profile?.file ? ` (${r.data.profile.file})` : ''}`)
    out()
    out(r.data?.profileText ?? `no profile: ${r.ok ? r.data?.profile?.error : oneLine(r.error)}`)
  }
}
const seconds = (Date.now() - started) / 1000
out()
const loads = [...results, ...burstResults].map((r) => r.load ?? 0)
out(`Total time ${seconds.toFixed(0)} s. Load average (1 min) after each cell: ${Math.min(...loads).toFixed(2)} - ${Math.max(...loads).toFixed(2)} (the benchmark itself accounts for up to ~2).`)

const resultsDir = join(BENCH_DIR, 'results')
if (!existsSync(resultsDir)) mkdirSync(resultsDir, { recursive: true })
const file = join(resultsDir, `${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify({ machine, options: { n: nList, k: K, b: B, m: M, repeat: REPEAT, quick, scale, servers: selected.map((s) => s.name) }, scale: scaleInfo, startedAt: new Date(started).toISOString(), seconds, results, burst: burstResults }, null, 2))
out(`Raw results: ${file.slice(ROOT.length + 1)}`)
process.exit(results.every((r) => r.ok && r.data.valid) ? 0 : 1)
