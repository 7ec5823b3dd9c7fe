/**
 * The examples on a terminal (issue 12): readable log lines (pino-pretty) when stdout is a TTY, the URL
 * printed plainly, and load-balancer health polls logged at debug, not at info. The terminal is a real
 * pseudo-terminal (util-linux `script`); without one, logs stay JSON lines.
 */
import t from 'tap'
import { http } from '../helpers/http.js'
import { freePort } from '../helpers/ports.js'
import { background } from '../helpers/processes.js'
import { until } from '../helpers/wait.js'

const ENV = { REDIS_URL: undefined, TOPIC_PREFIX: undefined, CORS_ORIGINS: undefined, SSE_HEARTBEAT_SECONDS: undefined, SSE_PATH: undefined, SSE_REDIS_URL: undefined, LOG_FORMAT: undefined }

t.test('on a terminal: pretty log lines, the URL in plain text, health polls not at info', async (t) => {
  const port = await freePort()
  const started = background(t, 'script', ['-qfec', 'npm --silent run example:stocks', '/dev/null'], { ...ENV, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info' })
  const base = `http://127.0.0.1:${port}`
  await until(() => started.output().includes(`fastify-views stocks: curl -N ${base}/stocks`), `the URL is printed:\n${started.output()}`, 30_000)
  t.match(started.output(), `  Swagger UI: ${base}/docs`)
  for (let poll = 0; poll < 3; poll++) t.equal((await http(base, 'GET', '/health')).status, 200)
  t.equal((await http(base, 'GET', '/stocks?symbol=AAPL&limit=1')).status, 200)
  await until(() => started.output().includes('/stocks?symbol=AAPL&limit=1'), `the request is logged:\n${started.output()}`, 20_000)
  const output = started.output()
  t.match(output, /\d\d:\d\d:\d\d\.\d{3}\] INFO.*incoming request/, 'pino-pretty lines: time, level, message')
  t.notMatch(output, /\{"level":/, 'no JSON log lines')
  t.notMatch(output, '/health', 'health polls are not logged at info')
})

t.test('off a terminal: JSON lines, and each health poll is one debug line', async (t) => {
  const port = await freePort()
  const started = background(t, 'npm', ['--silent', 'run', 'example:quickstart'], { ...ENV, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'debug' })
  const base = `http://127.0.0.1:${port}`
  await until(() => started.output().includes(`fastify-views quickstart: open ${base}/ in two windows`), `the URL is printed:\n${started.output()}`, 30_000)
  for (let poll = 0; poll < 3; poll++) t.equal((await http(base, 'GET', '/health')).status, 200)
  const lines = () => started.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
  await until(() => lines().filter((line) => line.msg === 'health poll').length === 3, `three health poll lines:\n${started.output()}`, 20_000)
  const polls = lines().filter((line) => line.msg === 'health poll')
  t.same(polls.map((line) => [line.level, line.statusCode]), [[20, 200], [20, 200], [20, 200]])
  t.same(lines().filter((line) => line.req?.url === '/health' || line.msg === 'request completed'), [], 'no info request lines for /health')
})
