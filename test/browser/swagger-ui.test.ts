import t from 'tap'
import { build } from '../../examples/quickstart/app.js'
import { listen } from '../helpers/http.js'
import { launchBrowser } from '../helpers/browser.js'

t.test('Swagger UI at /docs renders the operations of the quickstart', async (t) => {
  const app = await build({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  const base = await listen(app)
  const { page } = await launchBrowser(t)
  const docs = await page('docs')
  await docs.goto(`${base}/docs`)
  await docs.waitForSelector('.opblock-summary', { timeout: 20_000 })
  const operations = await docs.$$eval('.opblock-summary', (nodes) => nodes.map((node) => {
    const method = node.querySelector('.opblock-summary-method')?.textContent?.trim() ?? ''
    const path = node.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? ''
    return `${method} ${path}`
  }))
  t.same(operations.sort(), ['DELETE /tasks/{id}', 'GET /events', 'GET /tasks', 'GET /tasks/{id}', 'PATCH /tasks/{id}', 'POST /tasks', 'PUT /tasks/{id}'])
  t.equal(await docs.textContent('.title'), 'fastify-views quickstart 1.0.0 OAS 3.1')
})
