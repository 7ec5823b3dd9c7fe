/**
 * Swagger UI at /docs, in Chromium: it renders each example's document, lists the SSE operations with the
 * `text/event-stream` media type, and shows the schema of one event, an example event that conforms to it,
 * and the raw stream in the response's description.
 */
import t from 'tap'
import type { Locator, Page } from 'playwright-core'
import type { FastifyInstance } from 'fastify'
import { build as buildQuickstart } from '../../examples/quickstart/app.js'
import { build as buildStocks } from '../../examples/stocks/app.js'
import type { TestContext } from '../helpers/context.js'
import { launchBrowser } from '../helpers/browser.js'
import { listen } from '../helpers/http.js'

async function docsOf (t: TestContext & { passing: () => boolean, name: string }, build: (options: object) => Promise<FastifyInstance>): Promise<Page> {
  const app = await build({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  const base = await listen(app)
  const { page } = await launchBrowser(t)
  const docs = await page('docs')
  await docs.goto(`${base}/docs`)
  await docs.waitForSelector('.opblock-summary', { timeout: 20_000 })
  return docs
}

async function operations (docs: Page): Promise<string[]> {
  return (await docs.$$eval('.opblock-summary', (nodes) => nodes.map((node) => {
    const method = node.querySelector('.opblock-summary-method')?.textContent?.trim() ?? ''
    const path = node.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? ''
    return `${method} ${path}`
  }))).sort()
}

/** Opens an operation and returns its 200 response row. */
async function success (docs: Page, id: string): Promise<Locator> {
  const operation = docs.locator(`#${id}`)
  await operation.locator('.opblock-summary').click()
  const row = operation.locator('tr.response[data-code="200"]')
  await row.waitFor({ timeout: 10_000 })
  return row
}

/** The 200 response's schema as Swagger UI renders it, every nested model expanded. */
async function schemaText (row: Locator): Promise<string> {
  await row.locator('button[data-name="model"]').click()
  // The root's deep toggle reads "Collapse all" while only the root is open: a second click expands everything.
  const deep = row.locator('.model-box .json-schema-2020-12-expand-deep-button').first()
  if (await deep.innerText() === 'Collapse all') await deep.click()
  await deep.click()
  await row.locator('.model-box .json-schema-2020-12-expand-deep-button', { hasText: 'Expand all' }).first().waitFor({ state: 'detached', timeout: 5_000 })
  return row.locator('.model-box').innerText()
}

/** The raw example stream, shown in the response's description (a fenced block). */
const rawStream = (row: Locator) => row.locator('.response-col_description pre').first().innerText()

const mediaTypes = (row: Locator) => row.locator('select.content-type option').evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value))

t.test('Swagger UI renders the stocks streams as text/event-stream with the schema of their events', async (t) => {
  const docs = await docsOf(t, buildStocks)
  t.equal(await docs.textContent('.title'), 'fastify-views stocks 1.0.0 OAS 3.1')
  t.same(await operations(docs), ['GET /stocks', 'GET /stocks/custom-events'])

  const prices = await success(docs, 'operations-stocks-stocksEvents')
  t.same(await mediaTypes(prices), ['text/event-stream'])
  t.match(JSON.parse(await prices.locator('pre.example').innerText()), { event: 'price', data: { symbol: 'AAPL', price: 182.5 } }, 'an example event, as the schema describes it')
  t.match(await rawStream(prices), 'event: price\ndata: {"symbol":"AAPL","price":182.5}', 'a raw example of the stream')
  const schema = await schemaText(prices)
  for (const field of ['id', 'event', 'retry', 'data', 'symbol', 'Ticker symbol', 'price', 'Price in USD']) {
    t.match(schema, field, `the event schema shows ${field}`)
  }
  t.match(schema, /event[\s\S]*Enum[\s\S]*"price"[\s\S]*data[\s\S]*symbol[\s\S]*price/, 'the event name, then the data: a StockPrice')

  const custom = await success(docs, 'operations-stocks-stocksCustomEvents')
  t.same(await mediaTypes(custom), ['text/event-stream'])
  t.match(JSON.parse(await custom.locator('pre.example').innerText()), { event: 'data', data: { id: 1, name: 'first' } })
  t.match(await rawStream(custom), 'event: data\ndata: {"id":1,"name":"first"}')
  const customSchema = await schemaText(custom)
  t.match(customSchema, /event[\s\S]*Enum[\s\S]*"data"[\s\S]*data[\s\S]*id[\s\S]*integer[\s\S]*name[\s\S]*string/, 'the event name, then the data: an APIModel { id, name }')
})

t.test('Swagger UI renders the quickstart: the task operations and the /events subscription', async (t) => {
  const docs = await docsOf(t, buildQuickstart)
  t.equal(await docs.textContent('.title'), 'fastify-views quickstart 1.0.0 OAS 3.1')
  t.same(await operations(docs), ['DELETE /tasks/{id}', 'GET /events', 'GET /tasks', 'GET /tasks/{id}', 'PATCH /tasks/{id}', 'POST /tasks', 'PUT /tasks/{id}'])

  const events = await success(docs, 'operations-events-subscribe')
  t.same(await mediaTypes(events), ['text/event-stream'])
  t.match(JSON.parse(await events.locator('pre.example').innerText()), { event: 'subscribed', data: { topics: ['tasks'] } })
  t.match(await rawStream(events), 'event: subscribed\ndata: {"topics":["tasks"]}')
  const schema = await schemaText(events)
  for (const field of ['id', 'event', 'data', 'Resume cursor', 'subscribed', 'reset']) t.match(schema, field, `the event schema shows ${field}`)
  // The parameters: the topics, and the resume cursor for clients that cannot send Last-Event-ID.
  const parameters = await docs.locator('#operations-events-subscribe .parameters-col_name').allInnerTexts()
  t.match(parameters.join('\n'), /topic[\s\S]*lastEventId[\s\S]*last-event-id/)
})
