/**
 * Memory per idle connection, and what it is made of (issue 14: <= 1.2x node-limit).
 *
 *   ulimit -n $(ulimit -Hn); node --import tsx bench/memory-breakdown.ts --n 2000
 *   node --import tsx bench/memory-breakdown.ts --n 2000 --servers node-limit,fastify-views --top 30
 *
 * For every server (bench/servers.ts names), two fresh server processes:
 * 1. RSS and heap: 50 warm-up streams open and close, `/stats` (after gc), N idle streams open (`GET /sse`,
 *    counted once the head and the first body bytes arrived), 1 s to settle, `/stats` again: the difference
 *    divided by N, as bench/loadgen.ts measures it.
 * 2. Heap snapshots (bench/lib/heap-snapshot-hook.ts, SIGUSR2): one after the warm-up, one with the N streams
 *    open. The difference by constructor: instances and self size per connection (the self sizes add up
 *    to the heap difference), and the retained size per connection of those instances whose immediate
 *    dominator is not an instance of the same constructor (dominator tree over the non-weak edges,
 *    Cooper-Harvey-Kennedy; retained sizes overlap between constructors: a Socket's includes what only
 *    it keeps alive). Snapshots are taken in a separate process so their own allocations do not
 *    move the RSS figure.
 *
 * 1 KB = 1,024 bytes. Loopback only; every process it starts is stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { servers } from './servers.js'

const { values: opts } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    servers: { type: 'string', default: 'node-limit,node-http,fastify-views,fastify-views-relay' },
    top: { type: 'string', default: '25' },
    'rss-only': { type: 'boolean', default: false },
    'snapshot-only': { type: 'boolean', default: false },
    'settle-ms': { type: 'string', default: '1000' },
    /** Keep the heap snapshots in this directory (to open in Chrome DevTools) instead of deleting them. */
    keep: { type: 'string' }
  }
})

const N = Number(opts.n)
const TOP = Number(opts.top)
const SETTLE_MS = Number(opts['settle-ms'])
const HOST = '127.0.0.1'
const SOURCES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`)
const BENCH = fileURLToPath(new URL('.', import.meta.url))
const HOOK = fileURLToPath(new URL('./lib/heap-snapshot-hook.ts', import.meta.url))
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Server {
  child: ChildProcess
  port: number
  /** The next `snapshot <path>` line of the server's stdout. */
  nextSnapshot: () => Promise<string>
}

function startServer (file: string, withHook: boolean, snapshotDir: string): Promise<Server> {
  const args = ['--expose-gc', '--import', 'tsx', ...(withHook ? ['--import', HOOK] : []), join(BENCH, file)]
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PORT: '0', HOST, MEMORY_SNAPSHOT_DIR: snapshotDir },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const waiting: Array<(path: string) => void> = []
  const snapshots: string[] = []
  return new Promise((resolve, reject) => {
    let buffered = ''
    child.once('exit', (code) => reject(new Error(`${file} exited (${String(code)}) before it was ready`)))
    child.stdout!.on('data', (data: Buffer) => {
      buffered += data.toString()
      let end: number
      while ((end = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, end)
        buffered = buffered.slice(end + 1)
        const ready = /^ready (\d+)$/.exec(line)
        if (ready !== null) {
          resolve({
            child,
            port: Number(ready[1]),
            nextSnapshot: () => new Promise((resolve) => {
              const path = snapshots.shift()
              if (path !== undefined) resolve(path)
              else waiting.push(resolve)
            })
          })
        }
        const snapshot = /^snapshot (.+)$/.exec(line)
        if (snapshot !== null) {
          const wake = waiting.shift()
          if (wake !== undefined) wake(snapshot[1])
          else snapshots.push(snapshot[1])
        }
      }
    })
  })
}

async function stopServer (server: Server): Promise<void> {
  if (server.child.exitCode !== null) return
  const exited = new Promise((resolve) => server.child.once('exit', resolve))
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

function stats (port: number): Promise<{ connections: number, rss: number, heapUsed: number }> {
  return new Promise((resolve, reject) => {
    request({ host: HOST, port, path: '/stats', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve(JSON.parse(body)))
    }).on('error', reject).end()
  })
}

/** One idle stream: resolves once the head and the first body bytes arrived. */
function openStream (port: number, index: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, localAddress: SOURCES[index % SOURCES.length] })
    let seen = ''
    let open = false
    const timer = setTimeout(() => reject(new Error('no response within 30 s')), 30_000)
    socket.on('connect', () => socket.write(`GET /sse HTTP/1.1\r\nHost: ${HOST}:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`))
    socket.on('data', (data: Buffer) => {
      if (open) return
      seen += data.toString('latin1')
      const head = seen.indexOf('\r\n\r\n')
      if (head === -1 || seen.length <= head + 4) return
      if (!seen.startsWith('HTTP/1.1 200')) { reject(new Error(`refused: ${seen.slice(0, seen.indexOf('\r\n'))}`)); return }
      open = true
      seen = ''
      clearTimeout(timer)
      resolve(socket)
    })
    socket.on('error', (error) => { clearTimeout(timer); reject(error) })
  })
}

async function openAll (port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < n) sockets.push(await openStream(port, next++))
  }
  await Promise.all(Array.from({ length: Math.min(256, n) }, worker))
  return sockets
}

/** Opens and closes a few streams (compiles the connect path), then waits until the server counts none. */
async function warmUp (port: number): Promise<void> {
  for (const socket of await openAll(port, 50)) socket.destroy()
  const deadline = Date.now() + 10_000
  while ((await stats(port)).connections !== 0 && Date.now() < deadline) await sleep(50)
}

async function settle (port: number, n: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while ((await stats(port)).connections < n && Date.now() < deadline) await sleep(50)
  await sleep(SETTLE_MS)
}

// ---------------------------------------------------------------------------------------------------------
// Heap snapshots.

interface Aggregate { count: number, self: number, retained: number }

/** What a snapshot node is counted as: its constructor (objects), `name()` (closures), or its kind. */
function keyOf (type: string, name: string): string {
  switch (type) {
    case 'object':
    case 'native':
      return name
    case 'closure':
      return `${name === '' ? '(anonymous)' : name}()`
    case 'string':
    case 'concatenated string':
    case 'sliced string':
    case 'code':
    case 'number':
    case 'object shape':
      return `(${type})`
    default:
      return `(${type}) ${name.length > 50 ? `${name.slice(0, 50)}...` : name}`
  }
}

/** Instances, self size and retained size by constructor (see the head comment for "retained"). */
function summarize (path: string): Map<string, Aggregate> {
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[], node_types: [string[]], edge_fields: string[], edge_types: [string[]] }, node_count: number }
    nodes: number[]
    edges: number[]
    strings: string[]
  }
  const { meta } = snapshot.snapshot
  const NF = meta.node_fields.length
  const EF = meta.edge_fields.length
  const TYPE = meta.node_fields.indexOf('type')
  const NAME = meta.node_fields.indexOf('name')
  const SELF = meta.node_fields.indexOf('self_size')
  const EDGES = meta.node_fields.indexOf('edge_count')
  const EDGE_TYPE = meta.edge_fields.indexOf('type')
  const TO = meta.edge_fields.indexOf('to_node')
  const weak = meta.edge_types[0].indexOf('weak')
  const nodes = snapshot.nodes
  const edges = snapshot.edges
  const count = nodes.length / NF

  const firstEdge = new Int32Array(count + 1)
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i] + nodes[i * NF + EDGES] * EF

  // Post-order over the strong edges from the synthetic root (node 0).
  const post = new Int32Array(count).fill(-1)
  const order = new Int32Array(count)
  const visited = new Uint8Array(count)
  const stack = new Int32Array(count)
  const cursor = new Int32Array(count)
  let top = 0
  let reached = 0
  stack[0] = 0
  cursor[0] = firstEdge[0]
  visited[0] = 1
  while (top >= 0) {
    const node = stack[top]
    let pushed = false
    while (cursor[top] < firstEdge[node + 1]) {
      const e = cursor[top]
      cursor[top] += EF
      if (edges[e + EDGE_TYPE] === weak) continue
      const to = edges[e + TO] / NF
      if (visited[to] === 1) continue
      visited[to] = 1
      top++
      stack[top] = to
      cursor[top] = firstEdge[to]
      pushed = true
      break
    }
    if (!pushed) {
      post[node] = reached
      order[reached++] = node
      top--
    }
  }

  // Predecessors (strong edges between reached nodes), as compressed rows.
  const predStart = new Int32Array(count + 1)
  for (let from = 0; from < count; from++) {
    if (post[from] === -1) continue
    for (let e = firstEdge[from]; e < firstEdge[from + 1]; e += EF) if (edges[e + EDGE_TYPE] !== weak) predStart[edges[e + TO] / NF + 1]++
  }
  for (let i = 0; i < count; i++) predStart[i + 1] += predStart[i]
  const preds = new Int32Array(predStart[count])
  const fill = predStart.slice(0, count)
  for (let from = 0; from < count; from++) {
    if (post[from] === -1) continue
    for (let e = firstEdge[from]; e < firstEdge[from + 1]; e += EF) if (edges[e + EDGE_TYPE] !== weak) preds[fill[edges[e + TO] / NF]++] = from
  }

  // Immediate dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm"), on post-order numbers.
  const idom = new Int32Array(reached).fill(-1)
  const rootPost = post[0]
  idom[rootPost] = rootPost
  let changed = true
  while (changed) {
    changed = false
    for (let i = reached - 1; i >= 0; i--) {
      if (i === rootPost) continue
      const node = order[i]
      let next = -1
      for (let p = predStart[node]; p < predStart[node + 1]; p++) {
        let a = post[preds[p]]
        if (idom[a] === -1) continue
        if (next === -1) { next = a; continue }
        let b = next
        while (a !== b) {
          while (a < b) a = idom[a]
          while (b < a) b = idom[b]
        }
        next = a
      }
      if (next !== -1 && idom[i] !== next) { idom[i] = next; changed = true }
    }
  }

  const keys: string[] = new Array(count)
  const retained = new Float64Array(reached)
  for (let i = 0; i < reached; i++) retained[i] = nodes[order[i] * NF + SELF]
  // A dominator comes after every node it dominates in post-order.
  for (let i = 0; i < reached; i++) if (i !== rootPost && idom[i] !== -1) retained[idom[i]] += retained[i]

  const typeOf = (node: number): string => meta.node_types[0][nodes[node * NF + TYPE]]
  for (let i = 0; i < count; i++) keys[i] = keyOf(typeOf(i), snapshot.strings[nodes[i * NF + NAME]])
  // Parts that mean little alone (property and element stores, contexts, strings, anonymous closures) are
  // named after the nearest object or named closure that dominates them: `(object properties) @ Request`.
  const owned = (key: string): boolean => key.startsWith('(') || key === 'system / Context' || key === 'Array' || key === 'Object'
  for (let i = reached - 1; i >= 0; i--) {
    const node = order[i]
    if (!owned(keys[node])) continue
    const up = idom[i]
    if (up === -1 || up === rootPost) continue
    // Dominators come first in this order: an owned one already names its owner.
    const above = keys[order[up]]
    const at = above.indexOf(' @ ')
    if (at !== -1) keys[node] = `${keys[node]}${above.slice(at)}`
    else if (!owned(above)) keys[node] = `${keys[node]} @ ${above}`
  }
  const out = new Map<string, Aggregate>()
  for (let i = 0; i < count; i++) {
    const key = keys[i]
    let entry = out.get(key)
    if (entry === undefined) { entry = { count: 0, self: 0, retained: 0 }; out.set(key, entry) }
    entry.count++
    entry.self += nodes[i * NF + SELF]
  }
  for (let i = 0; i < reached; i++) {
    const node = order[i]
    const dominator = idom[i]
    if (dominator !== -1 && dominator !== i && keys[order[dominator]] === keys[node]) continue
    out.get(keys[node])!.retained += retained[i]
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------

const kb = (bytes: number): string => (bytes / 1024).toFixed(2)

async function measureRss (file: string): Promise<{ rss: number, heap: number, n: number }> {
  const server = await startServer(file, false, tmpdir())
  try {
    await warmUp(server.port)
    const before = await stats(server.port)
    const sockets = await openAll(server.port, N)
    await settle(server.port, N)
    const after = await stats(server.port)
    for (const socket of sockets) socket.destroy()
    return { rss: (after.rss - before.rss) / sockets.length, heap: (after.heapUsed - before.heapUsed) / sockets.length, n: sockets.length }
  } finally {
    await stopServer(server)
  }
}

async function measureHeap (file: string): Promise<Array<[string, Aggregate]>> {
  const dir = opts.keep ?? mkdtempSync(join(tmpdir(), 'memory-breakdown-'))
  const server = await startServer(file, true, dir)
  try {
    await warmUp(server.port)
    server.child.kill('SIGUSR2')
    const beforePath = await server.nextSnapshot()
    const sockets = await openAll(server.port, N)
    await settle(server.port, N)
    server.child.kill('SIGUSR2')
    const afterPath = await server.nextSnapshot()
    for (const socket of sockets) socket.destroy()
    await stopServer(server)
    const before = summarize(beforePath)
    const after = summarize(afterPath)
    const diff: Array<[string, Aggregate]> = []
    for (const [key, a] of after) {
      const b = before.get(key) ?? { count: 0, self: 0, retained: 0 }
      diff.push([key, { count: (a.count - b.count) / sockets.length, self: (a.self - b.self) / sockets.length, retained: (a.retained - b.retained) / sockets.length }])
    }
    for (const [key, b] of before) if (!after.has(key)) diff.push([key, { count: -b.count / sockets.length, self: -b.self / sockets.length, retained: -b.retained / sockets.length }])
    return diff.sort((x, y) => y[1].self - x[1].self)
  } finally {
    await stopServer(server)
    if (opts.keep === undefined) rmSync(dir, { recursive: true, force: true })
  }
}

const names = opts.servers!.split(',').filter((name) => name !== '')
const rows: string[] = []
for (const name of names) {
  // A name of bench/servers.ts, or a file under bench/ (a prototype: bench/prototypes/).
  const def = name.endsWith('.ts') ? { name, file: name } : servers.find((server) => server.name === name)
  if (def === undefined) throw new Error(`unknown server ${name} (bench/servers.ts)`)
  if ('redis' in def && def.redis === true) throw new Error(`${name} needs a redis-server: not supported here`)
  if (!opts['snapshot-only']) {
    const { rss, heap, n } = await measureRss(def.file)
    rows.push(`| ${name} | ${n} | ${kb(rss)} | ${kb(heap)} |`)
    process.stdout.write(`${name}: ${kb(rss)} KB RSS, ${kb(heap)} KB heap per connection (N = ${n})\n`)
  }
  if (!opts['rss-only']) {
    const diff = await measureHeap(def.file)
    const total = diff.reduce((sum, [, entry]) => sum + entry.self, 0)
    process.stdout.write(`\n### ${name}: heap snapshot difference per connection (N = ${N}), ${total.toFixed(0)} B self in all\n\n`)
    process.stdout.write('| constructor | instances / conn | self B / conn | retained B / conn |\n|---|---:|---:|---:|\n')
    const shown = diff.filter(([key, entry]) => !key.startsWith('(synthetic) (') && key !== '(synthetic) ' && (Math.abs(entry.self) >= 1 || Math.abs(entry.count) >= 0.01))
    for (const [key, entry] of shown.slice(0, TOP)) {
      process.stdout.write(`| ${key.replace(/\|/g, '\\|')} | ${entry.count.toFixed(2)} | ${entry.self.toFixed(0)} | ${entry.retained.toFixed(0)} |\n`)
    }
    process.stdout.write('\n')
  }
}
if (rows.length > 0) process.stdout.write(`\n| server | N | RSS KB / conn | heap KB / conn |\n|---|---:|---:|---:|\n${rows.join('\n')}\n`)
