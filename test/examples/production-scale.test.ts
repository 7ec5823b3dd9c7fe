/**
 * The production-scale setup: instances sharing one Redis for events and tasks, the load-test script, the
 * local start script exactly as the README runs it, and (when nginx is installed) the committed nginx.conf
 * in front of two instances, streaming through it and failing over when an instance drains.
 */
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from '../../examples/production-scale/app.js'
import type { TestContext } from '../helpers/app.js'
import { http } from '../helpers/http.js'
import { startRedis } from '../helpers/redis-server.js'
import { SSEClient } from '../helpers/sse-client.js'
import { firstEvents, sleep, start, type Running } from './support.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TYPES = ['subscribed', 'reset', 'task:created', 'task:updated', 'task:deleted']

async function instance (t: TestContext, redisUrl: string, port = 0): Promise<Running> {
  const running = await start(build, { env: { REDIS_URL: redisUrl }, drainMs: 0, fastify: { logger: false } }, port)
  t.teardown(() => running.app.close())
  return running
}

function client (t: TestContext, url: string): SSEClient {
  const sse = new SSEClient(url, { types: TYPES })
  t.teardown(() => sse.close())
  return sse
}

/** A port free on 127.0.0.1 right now (and, with `next`, the one after it too). */
async function freePort (next = false): Promise<number> {
  const bind = (port: number) => new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const bound = (server.address() as { port: number }).port
      server.close(() => resolve(bound))
    })
  })
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bind(0)
    if (!next || (port < 65535 && await bind(port + 1).then(() => true, () => false))) return port
  }
  throw new Error('no free port')
}

/** Runs a command to its end: exit code and output. */
function run (command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

interface Background {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
  /** Signals the process's own process group, as a terminal's Ctrl-C does. */
  interrupt: (signal?: NodeJS.Signals) => void
}

/**
 * Starts a long-running process in a process group of its own (like a terminal job); teardown stops that
 * group - this process and what it started - if the test did not.
 */
function background (t: TestContext, command: string, args: string[], env: Record<string, string> = {}): Background {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const interrupt = (signal: NodeJS.Signals = 'SIGINT') => { try { process.kill(-(child.pid as number), signal) } catch { /* already gone */ } }
  // Should this process end without its teardown (an uncaught error), the group must not outlive it.
  const orphaned = () => interrupt('SIGTERM')
  process.once('exit', orphaned)
  child.once('exit', () => process.removeListener('exit', orphaned))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) { interrupt('SIGTERM'); await exited }
  })
  return { child, output: () => output, exited, interrupt }
}

async function until (check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(50)
  }
}

t.test('instances share the tasks and the events through Redis', async (t) => {
  const redis = await startRedis({}, t)
  const a = await instance(t, redis.url)
  const b = await instance(t, redis.url)
  const onB = client(t, `${b.base}/events?topic=tasks`)
  await firstEvents(onB, 1)

  let res = await http(a.base, 'POST', '/tasks', { body: { title: 'made on A' } })
  t.same([res.status, res.headers.location, res.json()], [201, '/tasks/1', { id: 1, title: 'made on A', done: false }])
  t.same((await http(b.base, 'GET', '/tasks/1')).json(), { id: 1, title: 'made on A', done: false }, 'B reads what A wrote')
  res = await http(b.base, 'PATCH', '/tasks/1', { body: { done: true } })
  t.same([res.status, res.json()], [200, { id: 1, title: 'made on A', done: true }])
  t.same((await http(a.base, 'POST', '/tasks', { body: { title: 'second' } })).json().id, 2, 'ids come from one counter')
  t.same((await http(b.base, 'GET', '/tasks')).json(), [{ id: 1, title: 'made on A', done: true }, { id: 2, title: 'second', done: false }])
  t.equal((await http(b.base, 'DELETE', '/tasks/1')).status, 204)
  t.equal((await http(a.base, 'GET', '/tasks/1')).status, 404)
  t.same(await firstEvents(onB, 5), [
    ['subscribed', { topics: ['tasks'] }],
    ['task:created', { id: 1 }],
    ['task:updated', { id: 1 }],
    ['task:created', { id: 2 }],
    ['task:deleted', { id: 1 }]
  ])
  t.same(await redis.cli('HLEN', 'tasks'), '1', 'the tasks live in Redis')
})

t.test('without REDIS_URL an instance refuses to start, naming the setting', async (t) => {
  await t.rejects(build({ env: {}, fastify: { logger: false } }), { code: 'FVIEWS_ERR_OPTION_INVALID', message: /^Invalid setting 'REDIS_URL'/ })
})

t.test('load-test.ts: every client on every instance receives every event in order, exactly once', async (t) => {
  const redis = await startRedis({}, t)
  const a = await instance(t, redis.url)
  const b = await instance(t, redis.url)
  const result = await run('node', ['--import', 'tsx', 'examples/production-scale/load-test.ts', '--targets', `${a.base},${b.base}`, '--clients', '100', '--events', '20'])
  t.equal(result.code, 0, result.stdout + result.stderr)
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) as string)
  t.match(summary, { ok: true, clients: 100, events: 20, targets: [a.base, b.base], lost: 0, duplicates: 0, outOfOrder: 0, failed: 0 })
  t.match(result.stdout, 'lost 0, duplicates 0, out of order 0, failed connections 0: OK')
  t.same((await http(a.base, 'GET', '/tasks')).json(), [], 'it deletes the tasks it created')
})

t.test('start-local.sh, as the README runs it: Redis and two instances, stopped together by Ctrl-C', async (t) => {
  const port = await freePort(true)
  const redisPort = await freePort()
  const script = background(t, 'npm', ['run', '--silent', 'example:production-scale'], { PORT: String(port), REDIS_PORT: String(redisPort), LOG_LEVEL: 'warn' })
  await until(() => script.output().includes('Ctrl-C stops everything.'), `the script is ready:\n${script.output()}`, 60_000)
  t.match(script.output(), `instance 0: http://127.0.0.1:${port}/\ninstance 1: http://127.0.0.1:${port + 1}/\nRedis: redis://127.0.0.1:${redisPort}/0`)
  const first = `http://127.0.0.1:${port}`
  const second = `http://127.0.0.1:${port + 1}`
  t.match((await http(second, 'GET', '/health')).json(), { status: 'ok', broker: { backend: 'redis' } })
  const onSecond = client(t, `${second}/events?topic=tasks`)
  await firstEvents(onSecond, 1)
  t.equal((await http(first, 'POST', '/tasks', { body: { title: 'through instance 0' } })).status, 201)
  t.same((await firstEvents(onSecond, 2))[1], ['task:created', { id: 1 }])
  onSecond.close()

  // Ctrl-C: the terminal signals the whole job (npm, the script, Redis, the instances); the script stops
  // whatever is left and waits for it.
  script.interrupt('SIGINT')
  await script.exited
  await until(async () => (await Promise.all([port, port + 1, redisPort].map((p) => freePortIs(p)))).every(Boolean), 'every port is released', 15_000)
  t.pass('the instances and Redis are gone')
})

async function freePortIs (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

const nginx = spawnSync('nginx', ['-v']).status === 0
t.test('nginx.conf in front of two instances: unbuffered streams, and failover when an instance drains', { skip: nginx ? false : 'nginx is not installed' }, async (t) => {
  const redis = await startRedis({}, t)
  const a = await instance(t, redis.url)
  const b = await instance(t, redis.url)
  const port = await freePort()
  // The committed configuration, with the compose service names and port replaced by the test's.
  const prefix = mkdtempSync(join(tmpdir(), 'fastify-views-nginx-'))
  chmodSync(prefix, 0o755)
  t.teardown(() => rmSync(prefix, { recursive: true, force: true }))
  const conf = readFileSync(join(ROOT, 'examples/production-scale/nginx.conf'), 'utf8')
    .replace('server api1:3000', `server 127.0.0.1:${a.port}`)
    .replace('server api2:3000', `server 127.0.0.1:${b.port}`)
    .replace('listen 8080;', `listen 127.0.0.1:${port};`)
    .replace('worker_processes auto;', 'worker_processes 1;')
    .replaceAll('/var/log/nginx/', `${prefix}/`)
  t.not(conf.indexOf(`127.0.0.1:${b.port}`), -1, 'the upstreams were rewritten')
  writeFileSync(join(prefix, 'nginx.conf'), conf)
  const check = spawnSync('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', `pid ${prefix}/nginx.pid;`])
  t.equal(check.status, 0, `nginx -t accepts it: ${String(check.stderr)}`)
  const proxy = background(t, 'nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', `daemon off; pid ${prefix}/nginx.pid;`])
  const base = `http://127.0.0.1:${port}`
  await until(async () => (await http(base, 'GET', '/health').catch(() => ({ status: 0 }))).status === 200, `nginx answers:\n${proxy.output()}`)

  const sse = client(t, `${base}/events?topic=tasks`)
  t.same(await firstEvents(sse, 1), [['subscribed', { topics: ['tasks'] }]])
  const holder = [a, b].find((running) => (running.app as unknown as { topicMetrics: { openConnections: number } }).topicMetrics.openConnections === 1) as Running
  t.ok(holder, 'one instance holds the stream')
  const other = holder === a ? b : a

  // Each event leaves nginx as it is written (a buffering proxy would hold it back).
  t.equal((await http(base, 'POST', '/tasks', { body: { title: 'through nginx' } })).status, 201)
  t.same((await firstEvents(sse, 2, 2_000))[1], ['task:created', { id: 1 }])

  // The holder shuts down: its stream ends, EventSource reconnects through nginx to the other instance with its
  // Last-Event-ID, and gets exactly what it missed meanwhile.
  await holder.app.close()
  t.equal((await http(`http://127.0.0.1:${other.port}`, 'POST', '/tasks', { body: { title: 'while reconnecting' } })).status, 201)
  t.same(await firstEvents(sse, 4), [
    ['subscribed', { topics: ['tasks'] }],
    ['task:created', { id: 1 }],
    ['subscribed', { topics: ['tasks'] }],
    ['task:created', { id: 2 }]
  ])
  t.equal((await http(base, 'POST', '/tasks', { body: { title: 'after the failover' } })).status, 201)
  t.same((await firstEvents(sse, 5))[4], ['task:created', { id: 3 }])
  await sleep(50)
  t.equal(sse.events.length, 5, 'each event exactly once')
})
