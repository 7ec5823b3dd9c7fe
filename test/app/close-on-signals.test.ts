/**
 * closeOnSignals in a real child process: on SIGTERM /health turns 503 while the instance still serves
 * (unhealthyFirstMs), then the open stream ends cleanly and the process exits 0; a second signal while
 * closing does not cut anything short.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { http } from '../helpers/http.js'
import { BodyReader } from '../helpers/sse-http.js'

const SERVER = fileURLToPath(new URL('../helpers/signal-server.ts', import.meta.url))

t.test('SIGTERM: unhealthy first, then the streams end cleanly and the process exits 0', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], { env: { ...process.env, UNHEALTHY_FIRST_MS: '400' }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /ready (\d+)/.exec(out)
      if (match !== null) resolve(Number(match[1]))
    })
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)))
  })
  const base = `http://127.0.0.1:${port}`
  t.equal((await http(base, 'GET', '/health')).status, 200)
  const stream = await request(`${base}/events?topic=news`)
  const reader = new BodyReader(stream.body)
  await reader.until('event: subscribed')
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 100))
  child.kill('SIGTERM') // a repeated signal while closing is ignored
  const health = await http(base, 'GET', '/health')
  t.same([health.status, health.json().detail, health.json().code], [503, 'Shutting down: this instance is leaving the pool', 'FVIEWS_ERR_UNHEALTHY'])
  t.equal(reader.ended, false, 'the stream is still served while the load balancer takes the instance out')

  await reader.done
  t.equal(reader.error, undefined, 'then the stream ends cleanly')
  t.equal(await exited, 0, 'and the process exits 0')
})
