/**
 * Each example started as its README says (`npm start`, `npm run example:<name>`), in its own process:
 * it listens on HOST:PORT, serves Swagger UI at /docs and the committed OpenAPI document at /docs/json,
 * uses Redis when REDIS_URL is set, heartbeats every SSE_HEARTBEAT_SECONDS, logs at LOG_LEVEL, and exits
 * cleanly on SIGTERM.
 */
import t, { type Test } from 'tap'
import { readFile } from 'node:fs/promises'
import type { TestContext } from '../helpers/context.js'
import { http } from '../helpers/http.js'
import { startRedis } from '../helpers/redis-server.js'
import { openStream } from '../helpers/sse-http.js'
import { freePort, isFree } from '../helpers/ports.js'
import { background, ROOT, type Background } from '../helpers/processes.js'
import { until, within } from '../helpers/wait.js'

interface Started { base: string, process: Background }

/** Runs an npm script with the given settings (and nothing inherited that could change them). */
async function npmRun (t: TestContext, script: string[], settings: Record<string, string>): Promise<Started> {
  const port = await freePort()
  const env: Record<string, string | undefined> = { HOST: '127.0.0.1', PORT: String(port) }
  for (const name of ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_DB', 'TOPIC_PREFIX', 'CORS_ORIGINS', 'SSE_HEARTBEAT_SECONDS', 'LOG_LEVEL', 'STOCKS_INTERVAL_MS']) {
    env[name] = settings[name] // unset unless given
  }
  const started = background(t, 'npm', ['--silent', ...script], env)
  const base = `http://127.0.0.1:${port}`
  await until(async () => (await http(base, 'GET', '/health').catch(() => ({ status: 0 }))).status === 200, `${script.join(' ')} listens on ${base}:\n${started.output()}`, 30_000)
  return { base, process: started }
}

async function committedDocument (name: string): Promise<unknown> {
  return JSON.parse(await readFile(`${ROOT}openapi/${name}.json`, 'utf8'))
}

/** A stop (SIGTERM to the job, as `docker stop` or a supervisor sends): every process exits, the port is free. */
async function stops (t: Test, started: Started): Promise<void> {
  started.process.interrupt('SIGTERM')
  await started.process.gone()
  t.ok(await isFree(Number(new URL(started.base).port)), 'SIGTERM: the server exited and released its port')
  t.notMatch(started.process.output(), /"level":(50|60)/, 'nothing was logged as an error on the way out')
}

const logLines = (output: string): Array<{ level: number, msg: string, req?: { url: string } }> =>
  output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))

t.test('npm start: the quickstart, with Redis from REDIS_URL, heartbeats from SSE_HEARTBEAT_SECONDS, quiet at LOG_LEVEL=warn', async (t) => {
  const redis = await startRedis({}, t)
  const started = await npmRun(t, ['start'], { REDIS_URL: redis.url, SSE_HEARTBEAT_SECONDS: '0.2', LOG_LEVEL: 'warn' })
  const { base } = started
  t.match((await http(base, 'GET', '/health')).json(), { status: 'ok', broker: { ok: true, backend: 'redis' } })
  const docs = await http(base, 'GET', '/docs/')
  t.same([docs.status, docs.headers['content-type']], [200, 'text/html; charset=utf-8'])
  t.same((await http(base, 'GET', '/docs/json')).json(), await committedDocument('quickstart'), 'serves the committed document')
  t.match((await http(base, 'GET', '/')).text, '<title>Tasks - fastify-views quickstart</title>')

  const stream = await openStream(base, '/events?topic=tasks')
  t.equal(stream.status, 200)
  // After the opening frames, a silent stream carries a comment line every 0.2 s.
  const body = await within(stream.body.until('\n: \n\n', 2), 5_000, 'two heartbeats')
  t.match(body, /^retry: 1000\n\nid: [^\n]+\nevent: subscribed\ndata: \{"topics":\["tasks"\]\}\n\n: \n\n: \n\n/)
  stream.body.close()

  t.equal((await http(base, 'POST', '/tasks', { body: { title: 'quiet' } })).status, 201)
  t.same(logLines(started.process.output()).filter((line) => line.level < 40), [], 'nothing below warn is logged')
  await stops(t, started)
})

t.test('npm run example:stocks: STOCKS_INTERVAL_MS and LOG_LEVEL=info', async (t) => {
  const started = await npmRun(t, ['run', 'example:stocks'], { STOCKS_INTERVAL_MS: '20', LOG_LEVEL: 'info' })
  const { base } = started
  t.match((await http(base, 'GET', '/health')).json(), { broker: { backend: 'memory' } }, 'no REDIS_URL: the in-memory broker')
  t.same((await http(base, 'GET', '/docs/json')).json(), await committedDocument('stocks'), 'serves the committed document')
  const started2 = Date.now()
  const res = await http(base, 'GET', '/stocks?symbol=AAPL&limit=10')
  t.equal(res.text.split('event: price\n').length - 1, 10)
  t.ok(Date.now() - started2 < 1500, 'ten prices 20 ms apart')
  await until(() => logLines(started.process.output()).some((line) => line.msg === 'incoming request' && line.req?.url === '/stocks?symbol=AAPL&limit=10'), 'the request is logged at info', 20_000)
  await stops(t, started)
})

t.test('npm run example:crm-comments: LOG_LEVEL=debug, and the token in an EventSource URL never reaches the log', async (t) => {
  const started = await npmRun(t, ['run', 'example:crm-comments'], { LOG_LEVEL: 'debug' })
  const { base } = started
  t.same((await http(base, 'GET', '/docs/json')).json(), await committedDocument('crm-comments'), 'serves the committed document')
  const stream = await openStream(base, '/events?topic=thread:1&access_token=alice-token')
  t.equal(stream.status, 200)
  await stream.body.until('event: subscribed')
  await until(() => logLines(started.process.output()).some((line) => line.req?.url === '/events?topic=thread:1&access_token=[redacted]'), 'the request is logged, redacted', 20_000)
  t.notMatch(started.process.output(), 'alice-token')
  // SIGTERM with a stream open: the stream is ended properly (a killed server would cut it off), then the process exits.
  await stops(t, started)
  await within(stream.body.done, 5_000, 'the stream to end')
  t.same([stream.body.ended, stream.body.error], [true, undefined], 'the open stream was ended cleanly')
})
