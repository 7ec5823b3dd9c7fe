/**
 * fastify-views/client in Chromium, against the examples: the fetch transport and the browser's native
 * EventSource receive the same events; a 401 is final with its problem document (one request, no loop);
 * fastify-views/react's hook renders the state and the events, and closes the stream on unmount.
 */
import t from 'tap'
import { build as esbuild } from 'esbuild'
import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import { build as quickstart } from '../../examples/quickstart/app.js'
import { build as crm } from '../../examples/crm-comments/app.js'
import type { TestContext } from '../helpers/context.js'
import { launchBrowser } from '../helpers/browser.js'
import { http } from '../helpers/http.js'
import { start, type Running } from '../helpers/example-app.js'

const TEST_PAGE = '<!doctype html><meta charset="utf-8"><title>client test</title><button id="mount">mount</button><button id="unmount">unmount</button><div id="root"></div><script type="module" src="/react-page.js"></script>'

async function running (t: TestContext, build: (options: any) => Promise<FastifyInstance>, extra?: (app: FastifyInstance) => Promise<void>): Promise<Running> {
  const started = await start(async (options) => {
    const app = await build(options)
    await extra?.(app)
    return app
  }, { env: {}, drainMs: 0, fastify: { logger: false } })
  t.teardown(() => started.app.close())
  return started
}

async function testPage (app: FastifyInstance): Promise<void> {
  const bundle = await esbuild({ entryPoints: [new URL('./fixtures/react-page.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', define: { 'process.env.NODE_ENV': '"production"' } })
  const script = bundle.outputFiles[0].text
  app.get('/client-test', (_request, reply) => reply.type('text/html; charset=utf-8').send(TEST_PAGE))
  app.get('/react-page.js', (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script))
}

/** Opens a stream in the page with the served client; its events gather in window.seen[name]. */
async function openInPage (page: Page, name: string, transport: 'fetch' | 'eventsource'): Promise<void> {
  await page.evaluate(async ({ name, transport }) => {
    const { subscribe } = await import('/client.js' as string)
    const w = window as unknown as { seen: Record<string, unknown[]>, streams: Record<string, { state: string, close: () => void }> }
    w.seen ??= {}
    w.streams ??= {}
    w.seen[name] = []
    const stream = subscribe('/events', ['tasks'], { transport })
    stream.on('task:created', (data: unknown, meta: { lastEventId: string }) => w.seen[name].push([data, meta.lastEventId !== '']))
    w.streams[name] = stream
  }, { name, transport })
  await page.waitForFunction((name) => (window as any).streams[name].state === 'open', name, { timeout: 10_000 })
}

t.test('in Chromium, the fetch transport and native EventSource receive the same typed events', async (t) => {
  const app = await running(t, quickstart)
  const { page } = await launchBrowser(t)
  const tab = await page('transports')
  // A page of the app's origin that opens no stream of its own (the quickstart page would).
  await tab.goto(`${app.base}/health`)
  await openInPage(tab, 'fetch', 'fetch')
  await openInPage(tab, 'native', 'eventsource')
  for (const title of ['a', 'b', 'c']) t.equal((await http(app.base, 'POST', '/tasks', { body: { title } })).status, 201)
  await tab.waitForFunction(() => (window as any).seen.fetch.length === 3 && (window as any).seen.native.length === 3, undefined, { timeout: 10_000 })
  const seen = await tab.evaluate(() => (window as any).seen)
  const expected = [[{ id: 1 }, true], [{ id: 2 }, true], [{ id: 3 }, true]]
  t.same(seen, { fetch: expected, native: expected }, 'each event once, in order, with its cursor')
  t.equal(app.app.topicMetrics.openConnections, 2)
  await tab.evaluate(() => { for (const stream of Object.values((window as any).streams)) (stream as { close: () => void }).close() })
  for (let i = 0; i < 100 && app.app.topicMetrics.openConnections > 0; i++) await tab.waitForTimeout(50)
  t.equal(app.app.topicMetrics.openConnections, 0, 'close() closed both connections')
})

t.test('in Chromium, a 401 is final: the problem document, one request, state closed', async (t) => {
  const app = await running(t, crm)
  const { page } = await launchBrowser(t)
  const tab = await page('unauthorized')
  const requests: string[] = []
  tab.on('request', (request) => { if (new URL(request.url()).pathname === '/events') requests.push(request.url()) })
  await tab.goto(`${app.base}/demo-users`)
  const outcome = await tab.evaluate(async () => {
    const { connect } = await import('/client.js' as string)
    const stream = connect('/events?topic=thread:1')
    const error = await stream.ended
    return { state: stream.state, code: error.code, status: error.status, problem: error.problem }
  })
  const answer = await http(app.base, 'GET', '/events?topic=thread:1', { headers: { accept: 'text/event-stream' } })
  t.same(outcome, { state: 'closed', code: 'FVIEWS_ERR_CLIENT_REFUSED', status: 401, problem: answer.json() })
  t.equal(requests.length, 1, 'one request: no reconnect loop')
})

t.test('the React hook renders the state and the events, reports a final 404, and closes the stream on unmount', async (t) => {
  const app = await running(t, quickstart, testPage)
  const { page } = await launchBrowser(t)
  const tab = await page('react')
  await tab.goto(`${app.base}/client-test`)
  await tab.click('#mount')
  await tab.locator('#state', { hasText: 'open' }).waitFor({ timeout: 10_000 })
  await tab.locator('#refused', { hasText: 'closed 404 Not Found' }).waitFor({ timeout: 10_000 })
  t.equal(await tab.locator('#error').textContent(), '')
  for (const title of ['x', 'y']) t.equal((await http(app.base, 'POST', '/tasks', { body: { title } })).status, 201)
  await tab.locator('#ids li').nth(1).waitFor({ timeout: 10_000 })
  t.same(await tab.locator('#ids li').allTextContents(), ['1', '2'])
  t.equal(app.app.topicMetrics.openConnections, 1)
  await tab.click('#unmount')
  await tab.locator('#unmounted').waitFor()
  for (let i = 0; i < 100 && app.app.topicMetrics.openConnections > 0; i++) await tab.waitForTimeout(50)
  t.equal(app.app.topicMetrics.openConnections, 0, 'unmounting closed the stream')
})
