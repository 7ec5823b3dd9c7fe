/**
 * Real Redis for tests: every helper spawns its own `redis-server` on a free loopback port, so a test
 * can SIGKILL it, restart it on the same port, or build a small cluster, without touching any Redis
 * that happens to run on the machine (e.g. 127.0.0.1:6379 is never used).
 *
 *   const redis = await startRedis()          // or startRedis({}, t): stopped by t.teardown
 *   t.teardown(() => redis.stop())
 *   await redis.kill9(); await redis.restart() // same port, empty data set
 *
 *   const cluster = await startRedisCluster({ masters: 3 }, t)
 *   new Cluster(cluster.startupNodes)
 *
 * Persistence is off (`--save "" --appendonly no`); each server runs in its own temporary directory
 * (`--dir`), where cluster nodes keep their `nodes-P.conf` so a restarted node rejoins with the same
 * identity and slots. Every process still alive when the test process exits is SIGKILLed by a single
 * `process.on('exit')` handler, and the temporary directories are removed there as well; on Linux
 * the servers also get a parent-death signal (see SETPRIV) in case the test process is killed.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep } from './wait.js'

/** The part of a tap `Test` the helpers use. */
export interface Teardown {
  teardown: (fn: () => unknown) => void
}

export interface RedisOptions {
  /** Fixed port; by default a free one is picked (and another one if redis cannot bind it). */
  port?: number
  /** Extra `redis-server` arguments, appended after the defaults. */
  args?: string[]
  /** How long to wait for PING after a start or restart (default 10 s). */
  timeoutMs?: number
  /** When given, `t.teardown(() => redis.stop())` is registered. */
  t?: Teardown
}

export interface RedisProcess {
  port: number
  /** `redis://127.0.0.1:P` */
  url: string
  /** Pid of the current process (changes on restart). */
  readonly pid: number
  /** SIGKILL and wait for the process to exit (no-op when it is not running). */
  kill9: () => Promise<void>
  /** SIGTERM, wait for exit, remove the temporary directory (of a standalone server). */
  stop: () => Promise<void>
  /** Start again on the SAME port with the same arguments and directory, wait for PING. */
  restart: () => Promise<void>
  /** `redis-cli -h 127.0.0.1 -p P ...args`, stdout trimmed; rejects when redis-cli exits non-zero. */
  cli: (...args: string[]) => Promise<string>
}

export interface ClusterOptions {
  /** Number of masters (default 3, no replicas). */
  masters?: number
  /** Extra `redis-server` arguments for every node. */
  args?: string[]
  /** Bound for starting the nodes and for the cluster reaching `cluster_state:ok` (default 20 s). */
  timeoutMs?: number
  /** When given, `t.teardown(() => cluster.stop())` is registered. */
  t?: Teardown
}

export interface RedisCluster {
  nodes: RedisProcess[]
  /** For `new Cluster(startupNodes)` in ioredis. */
  startupNodes: Array<{ host: string, port: number }>
  /** Resolves once every running node reports `cluster_state:ok` and knows every node. */
  waitForOk: (timeoutMs?: number) => Promise<void>
  /** Stop every node and remove the temporary directories. */
  stop: () => Promise<void>
}

const HOST = '127.0.0.1'
const BIND_FAILURE = /Address already in use|Failed listening on port|Could not create server TCP listening socket/i

// ---------------------------------------------------------------- cleanup on exit

const liveProcesses = new Set<ChildProcess>()
const liveDirectories = new Set<string>()
let exitHandlerInstalled = false

function installExitHandler (): void {
  if (exitHandlerInstalled) return
  exitHandlerInstalled = true
  process.on('exit', () => {
    for (const child of liveProcesses) {
      try { child.kill('SIGKILL') } catch { /* already gone */ }
    }
    for (const directory of liveDirectories) {
      try { rmSync(directory, { recursive: true, force: true }) } catch { /* best effort */ }
    }
  })
}

function makeTempDirectory (prefix: string): string {
  installExitHandler()
  const directory = mkdtempSync(join(tmpdir(), prefix))
  liveDirectories.add(directory)
  return directory
}

function removeDirectory (directory: string): void {
  rmSync(directory, { recursive: true, force: true })
  liveDirectories.delete(directory)
}

// ---------------------------------------------------------------- small utilities


/** True when `port` can be bound on 127.0.0.1 right now. */
function isPortFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** A port the OS hands out for port 0, released again before returning. */
function ephemeralPort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * A free port; with `clusterBus`, port + 10000 (the cluster bus) must be free as well.
 * There is a window between release and redis binding it; `startRedis` retries on bind failures.
 */
async function freePort (clusterBus: boolean): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await ephemeralPort()
    if (!clusterBus) return port
    if (port + 10000 <= 65535 && await isPortFree(port + 10000)) return port
  }
  throw new Error('redis-server harness: no free port (with a free port + 10000) found')
}

/** One raw RESP round trip: PING must answer +PONG. */
function pingOnce (port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: HOST })
    let reply = ''
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

function runCli (port: number, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli -p ${port} ${args.join(' ')} failed: ${error.message}\n${stderr}${stdout}`))
      else resolve(stdout.trim())
    })
  })
}

/** Resolves when `child` has exited (immediately if it already has); rejects after `timeoutMs`. */
function waitForExit (child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve, reject) => {
    // The timer also keeps the event loop alive while waiting: the child itself is unref'ed.
    const timer = setTimeout(() => reject(new Error(`redis-server pid ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
  })
}

// ---------------------------------------------------------------- one server process

interface Spawned {
  child: ChildProcess
  /** Last 64 KiB of stdout + stderr (redis logs to stdout). */
  output: () => string
}

/**
 * On Linux, `setpriv --pdeathsig KILL` (util-linux) execs redis-server (same pid) with the parent-death
 * signal set, so servers die with the test process even when it is killed by a signal and the exit
 * handler cannot run (e.g. tap's timeout). Without setpriv, the exit handler is the only cleanup.
 */
const SETPRIV = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path)) : undefined

function spawnServer (port: number, args: string[], directory: string): Spawned {
  const command = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', 'redis-server'] : ['redis-server']
  const child = spawn(command[0], [
    ...command.slice(1),
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--protected-mode', 'no',
    '--dir', directory,
    ...args
  ], { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const collect = (chunk: Buffer): void => {
    output += chunk.toString('utf8')
    if (output.length > 65_536) output = output.slice(-65_536)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  // A test that forgets to stop a server must not hang: nothing here keeps the event loop alive,
  // and the exit handler SIGKILLs whatever is left.
  child.unref()
  ;(child.stdout as any)?.unref?.()
  ;(child.stderr as any)?.unref?.()
  child.once('error', () => { /* reported through exitCode / the PING timeout */ })
  liveProcesses.add(child)
  child.once('exit', () => liveProcesses.delete(child))
  return { child, output: () => output }
}

/**
 * Waits until the server answers PING. Resolves 'bind-failed' when it exited because the port was
 * taken (so the caller can pick another port), and throws with redis' output on any other failure.
 */
async function waitForPing (spawned: Spawned, port: number, timeoutMs: number): Promise<'ready' | 'bind-failed'> {
  const deadline = Date.now() + timeoutMs
  const { child } = spawned
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (BIND_FAILURE.test(spawned.output())) return 'bind-failed'
      throw new Error(`redis-server on port ${port} exited (code ${child.exitCode}, signal ${child.signalCode}) before answering PING:\n${spawned.output()}`)
    }
    if (await pingOnce(port)) return 'ready'
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${spawned.output()}`)
    }
    await sleep(20)
  }
}

interface ServerConfig {
  port?: number
  args: string[]
  timeoutMs: number
  clusterBus: boolean
  /** The directory is owned by the caller (a cluster): `stop()` leaves it in place. */
  directory?: string
}

async function launch (config: ServerConfig): Promise<RedisProcess> {
  const ownsDirectory = config.directory === undefined
  const directory = config.directory ?? makeTempDirectory('fastify-views-redis-')
  const fixedPort = config.port !== undefined

  let port = 0
  let current: Spawned | undefined
  for (let attempt = 1; ; attempt++) {
    port = config.port ?? await freePort(config.clusterBus)
    current = spawnServer(port, config.args, directory)
    const state = await waitForPing(current, port, config.timeoutMs)
    if (state === 'ready') break
    if (fixedPort || attempt >= 5) throw new Error(`redis-server could not bind port ${port}:\n${current.output()}`)
  }

  // Start again on the same port; retried briefly, since the port may still be held for a moment.
  async function startSamePort (): Promise<void> {
    mkdirSync(directory, { recursive: true })
    const deadline = Date.now() + config.timeoutMs
    while (true) {
      current = spawnServer(port, config.args, directory)
      const state = await waitForPing(current, port, Math.max(deadline - Date.now(), 1))
      if (state === 'ready') return
      if (Date.now() > deadline) throw new Error(`redis-server could not bind port ${port} again:\n${current.output()}`)
      await sleep(50)
    }
  }

  async function signal (name: NodeJS.Signals): Promise<void> {
    const child = current?.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    child.kill(name)
    await waitForExit(child)
  }

  const redis: RedisProcess = {
    port,
    url: `redis://${HOST}:${port}`,
    get pid () { return current?.child.pid ?? -1 },
    kill9: () => signal('SIGKILL'),
    async stop () {
      await signal('SIGTERM')
      if (ownsDirectory) removeDirectory(directory)
    },
    async restart () {
      await signal('SIGTERM')
      await startSamePort()
    },
    cli: (...args: string[]) => runCli(port, args)
  }
  return redis
}

// ---------------------------------------------------------------- public helpers

/** Starts a standalone redis-server on a free (or the given) loopback port and waits for PING. */
export async function startRedis (options: RedisOptions = {}, t: Teardown | undefined = options.t): Promise<RedisProcess> {
  const redis = await launch({
    port: options.port,
    args: options.args ?? [],
    timeoutMs: options.timeoutMs ?? 10_000,
    clusterBus: false
  })
  t?.teardown(() => redis.stop())
  return redis
}

function parseInfo (text: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim()
  }
  return fields
}

/**
 * Starts `masters` cluster-enabled servers (ports whose port + 10000 is free too), joins them with
 * `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`, and waits for
 * `cluster_state:ok` on every node.
 */
export async function startRedisCluster (options: ClusterOptions = {}, t: Teardown | undefined = options.t): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  const timeoutMs = options.timeoutMs ?? 20_000
  const root = makeTempDirectory('fastify-views-redis-cluster-')
  const nodes: RedisProcess[] = []

  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()))
    removeDirectory(root)
  }

  const waitForOk = async (waitMs = timeoutMs): Promise<void> => {
    const deadline = Date.now() + waitMs
    let last = ''
    while (true) {
      const running = nodes.filter((node) => node.pid > 0)
      const infos = await Promise.all(running.map((node) => node.cli('CLUSTER', 'INFO').then(parseInfo, () => ({} as Record<string, string>))))
      if (infos.every((info) => info.cluster_state === 'ok' && info.cluster_known_nodes === String(nodes.length))) return
      last = infos.map((info, i) => `${running[i].port}: state=${info.cluster_state} known=${info.cluster_known_nodes}`).join(', ')
      if (Date.now() > deadline) throw new Error(`redis cluster not ok within ${waitMs} ms (${last})`)
      await sleep(50)
    }
  }

  try {
    // Start one at a time so freshly picked ports (and their bus ports) cannot collide.
    for (let i = 0; i < masters; i++) {
      const directory = join(root, `node-${i}`)
      mkdirSync(directory)
      nodes.push(await launchClusterNode(directory, options.args ?? [], timeoutMs))
    }
    await runCli(nodes[0].port, ['--cluster', 'create', ...nodes.map((node) => `${HOST}:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], timeoutMs)
    await waitForOk()
  } catch (error) {
    await stop().catch(() => undefined)
    throw error
  }

  const cluster: RedisCluster = {
    nodes,
    startupNodes: nodes.map((node) => ({ host: HOST, port: node.port })),
    waitForOk,
    stop
  }
  t?.teardown(() => cluster.stop())
  return cluster
}

/** One cluster node: `--cluster-config-file <dir>/nodes-P.conf` depends on the picked port. */
async function launchClusterNode (directory: string, extraArgs: string[], timeoutMs: number): Promise<RedisProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(true)
    try {
      return await launch({
        port,
        clusterBus: true,
        timeoutMs,
        directory,
        args: [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(directory, `nodes-${port}.conf`),
          '--cluster-node-timeout', '2000',
          ...extraArgs
        ]
      })
    } catch (error) {
      // A fixed port in `launch` does not retry: pick a new pair of ports here instead.
      if (attempt >= 5 || !/could not bind/.test(String(error))) throw error
    }
  }
}
