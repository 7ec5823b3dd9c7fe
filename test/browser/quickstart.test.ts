/**
 * The quickstart page in Chromium: two windows follow each other within a second, and a page outlives a
 * server restart - Offline, then Live, showing what changed meanwhile (replayed from Redis, or reloaded
 * after a `reset` when the history was lost with an in-memory broker).
 */
import t from 'tap'
import type { Page } from 'playwright-core'
import { build, TaskStore, type QuickstartOptions } from '../../examples/quickstart/app.js'
import type { TestContext } from '../helpers/context.js'
import { launchBrowser } from '../helpers/browser.js'
import { http } from '../helpers/http.js'
import { startRedis } from '../helpers/redis-server.js'
import { SSEClient } from '../helpers/sse-client.js'
import { MemoryBroker } from '../../lib/index.js'
import { start, type Running } from '../helpers/example-app.js'

// The bound: what one window does shows in the other within a second.
const WITHIN_A_SECOND = { timeout: 1000 }

async function quickstart (t: TestContext, options: QuickstartOptions, port = 0): Promise<Running> {
  const running = await start(build, { env: {}, drainMs: 0, fastify: { logger: false }, ...options }, port)
  t.teardown(() => running.app.close())
  return running
}

/** Opens the page and waits until it is Live with its list loaded. */
async function open (page: Page, base: string): Promise<void> {
  await page.goto(base)
  await page.locator('#status', { hasText: 'Live' }).waitFor({ timeout: 10_000 })
  await page.locator('#empty:not([hidden]), #tasks li').first().waitFor({ timeout: 10_000 })
}

const titles = (page: Page) => page.locator('#tasks li span').allTextContents()

/** Counts the page's requests for the whole list (GET /tasks): a reload, as opposed to a replay. */
function listLoads (page: Page): { count: number } {
  const loads = { count: 0 }
  page.on('request', (request) => { if (request.method() === 'GET' && new URL(request.url()).pathname === '/tasks') loads.count++ })
  return loads
}

t.test('two pages: a task added, completed and deleted in one appears, changes and disappears in the other within a second', async (t) => {
  const { base } = await quickstart(t, {})
  const { page } = await launchBrowser(t)
  const first = await page('first')
  const second = await page('second')
  await open(first, base)
  await open(second, base)
  t.ok(await second.locator('#empty').isVisible(), 'the empty list says so')

  await first.fill('input[name=title]', 'buy milk')
  await first.click('button:text("Add")')
  const task = second.locator('li', { hasText: 'buy milk' })
  await task.waitFor(WITHIN_A_SECOND)
  t.equal(await task.getAttribute('class'), '', 'appears, not done')
  t.notOk(await task.locator('input[type=checkbox]').isChecked())
  t.notOk(await second.locator('#empty').isVisible())

  await first.locator('li', { hasText: 'buy milk' }).locator('input[type=checkbox]').check()
  await second.locator('li.done', { hasText: 'buy milk' }).waitFor(WITHIN_A_SECOND)
  t.ok(await task.locator('input[type=checkbox]').isChecked(), 'changes: done')

  await first.locator('li', { hasText: 'buy milk' }).locator('button.delete').click()
  await task.waitFor({ state: 'detached', ...WITHIN_A_SECOND })
  t.equal(await second.locator('#tasks li').count(), 0, 'disappears')
  t.same(await first.locator('#tasks li').count(), 0)

  // The server agrees with both pages.
  t.same((await http(base, 'GET', '/tasks')).json(), [])
  // And a change made elsewhere (curl, another service) shows too.
  t.equal((await http(base, 'POST', '/tasks', { body: { title: 'from the API' } })).status, 201)
  await first.locator('li', { hasText: 'from the API' }).waitFor(WITHIN_A_SECOND)
  await second.locator('li', { hasText: 'from the API' }).waitFor(WITHIN_A_SECOND)
})

t.test('with Redis the page survives a restart of its instance: Offline, then Live, with the missed changes replayed', async (t) => {
  const redis = await startRedis({}, t)
  const options: QuickstartOptions = { store: new TaskStore(), env: { REDIS_URL: redis.url } }
  const other = await quickstart(t, options)
  const own = await quickstart(t, options)
  t.equal((await http(other.base, 'POST', '/tasks', { body: { title: 'before the restart' } })).status, 201)
  const { page } = await launchBrowser(t)
  const tab = await page('redis-restart')
  const loads = listLoads(tab)
  await open(tab, own.base)
  await tab.locator('li', { hasText: 'before the restart' }).waitFor()

  await own.app.close()
  await tab.locator('#status', { hasText: 'Offline' }).waitFor({ timeout: 5_000 })
  // Meanwhile, through the other instance:
  t.equal((await http(other.base, 'POST', '/tasks', { body: { title: 'made while the page was away' } })).status, 201)
  t.equal((await http(other.base, 'PATCH', '/tasks/1', { body: { done: true } })).status, 200)

  await quickstart(t, options, own.port)
  await tab.locator('#status', { hasText: 'Live' }).waitFor({ timeout: 10_000 })
  await tab.locator('li', { hasText: 'made while the page was away' }).waitFor({ timeout: 5_000 })
  await tab.locator('li.done', { hasText: 'before the restart' }).waitFor({ timeout: 5_000 })
  t.same(await titles(tab), ['before the restart', 'made while the page was away'])
  t.equal(loads.count, 1, 'the list was loaded once: the changes were replayed as events, not reloaded')
})

t.test('without Redis the page survives a restart: Offline, then Live, reloading after the `reset`', async (t) => {
  const store = new TaskStore()
  const first = await quickstart(t, { store })
  const { page } = await launchBrowser(t)
  const tab = await page('memory-restart')
  const loads = listLoads(tab)
  await open(tab, first.base)
  t.equal((await http(first.base, 'POST', '/tasks', { body: { title: 'before the restart' } })).status, 201)
  await tab.locator('li', { hasText: 'before the restart' }).waitFor()

  await first.app.close()
  await tab.locator('#status', { hasText: 'Offline' }).waitFor({ timeout: 5_000 })
  // The database outlives the process; the in-memory broker, and with it the history of the events the
  // page's cursor points into, does not. (Another process wrote to the database meanwhile.)
  store.add('made while the page was away')
  store.remove(1)
  await quickstart(t, { store }, first.port)
  await tab.locator('#status', { hasText: 'Live' }).waitFor({ timeout: 10_000 })
  await tab.locator('li', { hasText: 'made while the page was away' }).waitFor({ timeout: 5_000 })
  await tab.locator('li', { hasText: 'before the restart' }).waitFor({ state: 'detached', timeout: 5_000 })
  t.same(await titles(tab), ['made while the page was away'])
  t.equal(loads.count, 2, 'loaded at the start, and again after the reset')
})

t.test('a page refused with an error status (the instance is full) keeps trying, and resumes with ?lastEventId= once let in', async (t) => {
  // A broker and a store that outlive the app: what a Redis and a database would be.
  const broker = new MemoryBroker()
  t.teardown(() => broker.close())
  const store = new TaskStore()
  const first = await quickstart(t, { store, broker })
  const { page } = await launchBrowser(t)
  const tab = await page('refused')
  const loads = listLoads(tab)
  const streams: Array<{ url: string, status: number, cursor: string | undefined }> = []
  tab.on('response', (response) => {
    if (new URL(response.url()).pathname === '/events') streams.push({ url: response.url(), status: response.status(), cursor: response.request().headers()['last-event-id'] })
  })
  await open(tab, first.base)
  t.equal((await http(first.base, 'POST', '/tasks', { body: { title: 'seen live' } })).status, 201)
  await tab.locator('li', { hasText: 'seen live' }).waitFor(WITHIN_A_SECOND)

  // The instance restarts with room for one stream, and another client takes it first: the page's reconnect
  // is answered 503 (Retry-After: 2), where EventSource would give up for good. The page's requests for the
  // stream wait in the browser until the other client holds the slot: on a loaded machine the page's reconnect
  // came first, took the slot, and the other client's EventSource, refused, never opened (the file timed out).
  let squatterIn = (): void => {}
  const held = new Promise<void>((resolve) => { squatterIn = resolve })
  await tab.route((url) => url.pathname === '/events', async (route) => { await held; await route.continue() })
  await first.app.close()
  const second = await quickstart(t, { store, broker, maxConnections: 1 }, first.port)
  const squatter = new SSEClient(`${second.base}/events?topic=elsewhere`)
  t.teardown(() => squatter.close())
  await squatter.opened
  squatterIn()
  await tab.locator('#status', { hasText: 'Offline' }).waitFor({ timeout: 5_000 })
  const refused = () => streams.some((stream) => stream.status === 503)
  for (let i = 0; i < 100 && !refused(); i++) await tab.waitForTimeout(50)
  t.ok(refused(), 'the page was refused with a 503')
  t.equal((await http(second.base, 'POST', '/tasks', { body: { title: 'made while refused' } })).status, 201)

  // Room again: the client's next attempt (after the Retry-After) resumes from its last id.
  squatter.close()
  await tab.locator('#status', { hasText: 'Live' }).waitFor({ timeout: 10_000 })
  await tab.locator('li', { hasText: 'made while refused' }).waitFor({ timeout: 5_000 })
  t.same(await titles(tab), ['seen live', 'made while refused'])
  t.match(streams.at(-1), { status: 200, cursor: /^\S+$/ }, 'the attempt let in sent its cursor as Last-Event-ID')
  t.ok(streams.filter(({ status }) => status === 503).every(({ cursor }) => cursor === streams.at(-1)?.cursor), 'every refused attempt sent the same cursor')
  t.equal(loads.count, 1, 'what it missed was replayed, not reloaded')
})
