/**
 * The production-scale setup: instances sharing one Redis for events and tasks, the load-test script, the
 * local start script exactly as the README runs it, and (when nginx is installed) the committed nginx.conf
 * in front of two instances, streaming through it and failing over when an instance drains.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from '../../examples/production-scale/app.js'
import type { TestContext } from '../helpers/context.js'
import { http } from '../helpers/http.js'
import { startRedis } from '../helpers/redis-server.js'
import type { SSEClient } from '../helpers/sse-client.js'
import { firstEvents, start, sseClient, type Running } from '../helpers/example-app.js'
import { freePort, isFree } from '../helpers/ports.js'
import { background, ROOT, run } from '../helpers/processes.js'
import { sleep, until } from '../helpers/wait.js'

const TYPES = ['subscribed', 'reset', 'task:created', 'task:updated', 'task:deleted']

// The scale tests below start Redis, a cluster of workers and generator processes, twice: on a loaded machine
// (the suite runs two files at once) that takes longer than the suite's 120 s per file.
t.setTimeout(300_000)

async function instance (t: TestContext, redisUrl: string, port = 0): Promise<Running> {
  const running = await start(build, { env: { REDIS_URL: redisUrl }, drainMs: 0, fastify: { logger: false } }, port)
  t.teardown(() => running.app.close())
  return running
}

function client (t: TestContext, url: string): SSEClient {
  return sseClient(t, url, { types: TYPES })
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
  // Line by line: the instances print their own lines meanwhile, between the script's.
  for (const line of [`instance 0: http://127.0.0.1:${port}/`, `instance 1: http://127.0.0.1:${port + 1}/`, `Redis: redis://127.0.0.1:${redisPort}/0`]) {
    t.ok(script.output().split('\n').includes(line), `the script prints '${line}':\n${script.output()}`)
  }
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
  await until(async () => (await Promise.all([port, port + 1, redisPort].map((p) => isFree(p)))).every(Boolean), 'every port is released', 15_000)
  t.pass('the instances and Redis are gone')
})

const nginx = spawnSync('nginx', ['-v']).status === 0
t.test('nginx.conf in front of two instances: unbuffered streams, and failover when an instance drains', async (t) => {
  // .ci/run installs nginx (nginx-light) like redis-server and chromium: without it this test fails, it is never skipped.
  t.ok(nginx, 'nginx is installed')
  if (!nginx) return
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
  await until(async () => (await http(base, 'GET', '/health').catch(() => ({ status: 0 }))).status === 200, `nginx answers:\n${proxy.output()}`, 20_000)

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

// scale-test.ts, scaled down: the 100,000-client run of the README, at 2,000 clients (2 workers, 2 generator
// processes) so it runs in the suite. Every client must get every event in order once, the slow share
// (1 in 100) must catch up after reading again, and no process it started may outlive it.
const SCALE = ['--import', 'tsx', 'examples/production-scale/scale-test.ts', '--clients', '2000', '--workers', '2', '--generators', '2', '--bursts', '2', '--slow-bursts', '1', '--events', '5']

function pidsOf (output: string): number[] {
  const line = /^processes: redis (\d+), cluster (\d+) \(workers ([\d,]+)\), generators ([\d,]+);/m.exec(output)
  if (line === null) throw new Error(`no 'processes:' line in:\n${output}`)
  return [line[1], line[2], ...line[3].split(','), ...line[4].split(',')].map(Number)
}
const running = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

t.test('scale-test.ts at 2,000 clients over 2 workers and 2 generators: every event to every client, in order, once', async (t) => {
  const result = await run(process.execPath, SCALE)
  t.equal(result.code, 0, result.stdout + result.stderr)
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) as string)
  t.match(summary, {
    ok: true, clients: 2000, workers: 2, generators: 2, events: 20, slowClients: 20,
    lost: 0, dup: 0, outOfOrder: 0, failed: 0, resets: 0,
    reachAllMs: { events: 15 }, reachOthersWhileSlowMs: { events: 5 }
  })
  t.ok(summary.connectMs > 0 && summary.reachAllMs.p99 >= summary.reachAllMs.p50 && summary.eventsPerSec.median > 0, 'it measured')
  t.type(summary.slowCatchUpMs, 'number', 'the slow clients caught up once they read again')
  t.match(result.stdout, 'OK: every client received every event, in order, exactly once')
  const pids = pidsOf(result.stdout)
  t.same([pids.length, pids.filter(running)], [1 + 1 + 2 + 2, []], 'Redis, the cluster primary, its workers and the generators are gone')
})

t.test('scale-test.ts on a machine whose limits are too low: says which limit and how to raise it, starts nothing', async (t) => {
  const result = await run('bash', ['-c', 'ulimit -n 1500 && ulimit -Hn 1500 && exec "$0" "$@"', process.execPath, ...SCALE.slice(0, 3), '--clients', '2000', '--workers', '1', '--generators', '1'])
  t.equal(result.code, 1)
  t.match(result.stderr, 'a worker holds 2000 streams and a generator 2000 sockets, plus 500 spare, but the hard limit (ulimit -Hn) is 1500. Use --workers 2 --generators 2')
  t.notMatch(result.stdout, /^processes:/m, 'nothing was started')
  t.match(JSON.parse(result.stdout.trim().split('\n').at(-1) as string), { ok: false, error: /open files per process/ })
})

t.test('scale-test.ts stopped by Ctrl-C while it holds the streams: every process it started is stopped', async (t) => {
  const script = background(t, process.execPath, [...SCALE.slice(0, 3), '--clients', '200', '--workers', '1', '--generators', '1', '--bursts', '100'])
  await until(() => script.output().includes('connected 200 streams'), `the streams are open:\n${script.output()}`, 90_000)
  const pids = pidsOf(script.output())
  t.equal(pids.filter(running).length, 4, 'Redis, the cluster primary, its worker and the generator are running')
  process.kill(script.child.pid as number, 'SIGINT') // the script alone: it must stop what it started itself
  t.equal(await script.exited, 130)
  await until(() => pids.every((pid) => !running(pid)), `no process outlives the script: ${pids.filter(running).join(',')}`, 20_000)
  t.match(script.output(), 'scale-test: SIGINT: stopping every process it started')
})
