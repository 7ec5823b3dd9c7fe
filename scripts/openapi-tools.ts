/**
 * Measures which OpenAPI tools accept, and use, the documents fastify-views generates in each version it
 * can emit (3.1, 3.2): the table in docs/openapi.md is this script's output, and the default version is
 * chosen from it. Run: `npx tsx scripts/openapi-tools.ts` (prints the table; `--write` also replaces the
 * table in docs/openapi.md). Needs /usr/bin/chromium for Swagger UI.
 *
 * "Uses" means the tool carries the event's data schema through to what its user sees:
 *   Swagger UI                  the SSE response of GET /stocks shows the StockPrice fields (symbol, price)
 *   openapi-schema-validator    (validation only) every document is valid for its version
 *   @redocly/cli lint           (recommended ruleset) no errors and no warnings on any document
 *   openapi-typescript          the generated type of a GET /stocks event has `data: StockPrice`
 *   @hey-api/openapi-ts         the generated client's items are typed as what it yields at run time,
 *                               checked against the running stocks example
 *
 * @hey-api/openapi-ts is not a devDependency: it declares Node >= 22.18, so on Node 20 every `npm install`
 * of the project would print EBADENGINE warnings for it. Install it for a measurement only:
 * `npm install --no-save @hey-api/openapi-ts@0.99` (it runs on Node 20 all the same).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { Validator } from '@seriousme/openapi-schema-validator'
import { chromium } from 'playwright-core'
import type { OpenAPIVersion } from '../lib/index.js'
import { build as buildStocks } from '../examples/stocks/app.js'
import { generateDocuments } from './openapi-documents.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const VERSIONS: OpenAPIVersion[] = ['3.1.0', '3.2.0']
const TOOLS = ['Swagger UI 5 (Chromium)', '@seriousme/openapi-schema-validator', '@redocly/cli lint', 'openapi-typescript', '@hey-api/openapi-ts'] as const
type Tool = typeof TOOLS[number]
type Documents = Awaited<ReturnType<typeof generateDocuments>>

async function versionOf (name: string): Promise<string> {
  const path = join(root, 'node_modules', ...name.split('/'), 'package.json')
  return (JSON.parse(await readFile(path, 'utf8')) as { version: string }).version
}

/** @fastify/swagger-ui bundles swagger-ui-dist: the version it was built from. */
async function swaggerUiDistVersion (): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, 'node_modules/@fastify/swagger-ui/package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
  return manifest.devDependencies?.['swagger-ui-dist'] ?? manifest.dependencies?.['swagger-ui-dist'] ?? '?'
}

async function validator (documents: Documents): Promise<string> {
  const failures: string[] = []
  for (const { name, document } of documents) {
    const result = await new Validator().validate(structuredClone(document) as any)
    if (!result.valid) failures.push(`${name}: ${JSON.stringify(result.errors).slice(0, 200)}`)
  }
  return failures.length === 0 ? 'valid (validation only)' : `invalid: ${failures.join('; ')}`
}

async function redocly (documents: Documents, dir: string): Promise<string> {
  let errors = 0
  let warnings = 0
  for (const { name, text } of documents) {
    const file = join(dir, `${name}.json`)
    await writeFile(file, text)
    const cli = join(root, 'node_modules/@redocly/cli/bin/cli.js')
    const { stdout } = await run(process.execPath, [cli, 'lint', '--extends=recommended', '--format=json', file]).catch((error) => error as { stdout: string })
    const totals = (JSON.parse(stdout) as { totals: { errors: number, warnings: number } }).totals
    errors += totals.errors
    warnings += totals.warnings
  }
  return errors + warnings === 0 ? 'accepted: no errors, no warnings' : `${errors} errors, ${warnings} warnings`
}

async function openapiTypescript (documents: Documents): Promise<string> {
  const { default: openapiTS, astToString } = await import('openapi-typescript')
  const stocks = documents.find(({ name }) => name === 'stocks')!.document
  const source = astToString(await openapiTS(structuredClone(stocks) as any))
  // The 200 response of GET /stocks: its text/event-stream entry.
  const entry = /"text\/event-stream": (unknown;|\{[\s\S]*?\n\s*\};)/.exec(source)?.[1] ?? ''
  if (/data: components\["schemas"\]\["StockPrice"\]/.test(entry)) return 'used: an event is `{ id?, event: "price", retry?, data: StockPrice }`'
  if (/^unknown;/.test(entry)) return 'accepted, stream untyped (`unknown`: itemSchema is not read)'
  return `accepted, stream typed as ${entry.replace(/\s+/g, ' ').slice(0, 80)}`
}

async function heyApi (documents: Documents, dir: string, version: string): Promise<string> {
  // A specifier in a variable: the package is installed for a measurement only (see the header).
  const heyApiPackage = '@hey-api/openapi-ts'
  const { createClient } = await import(heyApiPackage).catch(() => {
    throw new Error(`${heyApiPackage} is not installed: npm install --no-save ${heyApiPackage}@0.99`)
  }) as { createClient: (options: unknown) => Promise<unknown> }
  const input = join(dir, 'stocks.json')
  await writeFile(input, documents.find(({ name }) => name === 'stocks')!.text)
  const output = join(dir, `hey-api-${version}`)
  await createClient({ input, output, logs: { level: 'silent' } })
  const types = await readFile(join(output, 'types.gen.ts'), 'utf8')
  const responses = /export type StocksEventsResponses = \{[\s\S]*?\n\};/.exec(types)?.[0] ?? ''
  const typedAsEvent = /data: StockPrice;/.test(responses)
  const untyped = /200: unknown;/.test(responses)

  // What the generated client yields, from the running example.
  const app = await buildStocks({ env: {}, fastify: { logger: false }, intervalMs: 20 } as any)
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    const sdk = await import(pathToFileURL(join(output, 'sdk.gen.ts')).href)
    const client = await import(pathToFileURL(join(output, 'client', 'index.ts')).href)
    const controller = new AbortController()
    const { stream } = await sdk.stocksEvents({ client: client.createClient({ baseUrl: base }), signal: controller.signal, sseMaxRetryAttempts: 1 })
    let first: any
    for await (const item of stream) { first = item; break }
    controller.abort()
    const yieldsData = first !== null && typeof first === 'object' && 'symbol' in first && !('data' in first)
    if (typedAsEvent && yieldsData) return 'accepted, typed wrong: items typed as the whole event, but it yields `data` only (`item.data.symbol` compiles, then throws)'
    if (untyped && yieldsData) return 'accepted, stream untyped (`unknown`: itemSchema is not read); yields the parsed `data`'
    return `accepted; types ${typedAsEvent ? 'the event' : untyped ? 'unknown' : '?'}, yields ${JSON.stringify(first)}`
  } finally {
    await app.close()
  }
}

async function swaggerUi (version: OpenAPIVersion): Promise<string> {
  const app = await buildStocks({ env: {}, fastify: { logger: false }, openapiVersion: version } as any)
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'], headless: true })
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    const page = await browser.newPage()
    await page.goto(`${base}/docs`)
    await page.waitForSelector('.opblock-summary', { timeout: 20_000 })
    const title = (await page.textContent('.title')) ?? ''
    if (!title.includes(`OAS ${version.slice(0, 3)}`)) return `not rendered as ${version} (title: ${title})`
    const operation = page.locator('#operations-stocks-stocksEvents')
    await operation.locator('.opblock-summary').click()
    const row = operation.locator('tr.response[data-code="200"]')
    await row.waitFor({ timeout: 10_000 })
    const model = row.locator('button[data-name="model"]')
    let schema = ''
    if (await model.count() > 0) {
      await model.click()
      const deep = row.locator('.model-box .json-schema-2020-12-expand-deep-button').first()
      if (await deep.count() > 0) {
        if (await deep.innerText() === 'Collapse all') await deep.click()
        await deep.click()
        await page.waitForTimeout(500)
      }
      schema = await row.locator('.model-box').innerText().catch(() => '')
    }
    const example = await row.locator('pre').allInnerTexts()
    const showsFields = /symbol/.test(schema) && /price/.test(schema)
    const showsRaw = example.some((text) => text.includes('event: price'))
    if (showsFields) return `used: the event schema with StockPrice's fields${showsRaw ? ', and the raw stream' : ''}`
    return `rendered, event schema not shown${showsRaw ? ' (the raw stream example is)' : ''}`
  } finally {
    await browser.close()
    await app.close()
  }
}

async function measure (): Promise<Record<Tool, Record<OpenAPIVersion, string>>> {
  const table = Object.fromEntries(TOOLS.map((tool) => [tool, {}])) as Record<Tool, Record<OpenAPIVersion, string>>
  for (const version of VERSIONS) {
    const dir = await mkdtemp(join(tmpdir(), 'fviews-openapi-tools-'))
    try {
      const documents = await generateDocuments({ openapiVersion: version })
      const attempt = async (tool: Tool, fn: () => Promise<string>) => {
        table[tool][version] = await fn().catch((error: Error) => `fails: ${error.message.split('\n')[0].slice(0, 120)}`)
      }
      await attempt('Swagger UI 5 (Chromium)', () => swaggerUi(version))
      await attempt('@seriousme/openapi-schema-validator', () => validator(documents))
      await attempt('@redocly/cli lint', () => redocly(documents, dir))
      await attempt('openapi-typescript', () => openapiTypescript(documents))
      await attempt('@hey-api/openapi-ts', () => heyApi(documents, dir, version))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  return table
}

const PACKAGES: Record<Tool, string> = {
  'Swagger UI 5 (Chromium)': '@fastify/swagger-ui',
  '@seriousme/openapi-schema-validator': '@seriousme/openapi-schema-validator',
  '@redocly/cli lint': '@redocly/cli',
  'openapi-typescript': 'openapi-typescript',
  '@hey-api/openapi-ts': '@hey-api/openapi-ts'
}

const table = await measure()
const lines = ['| Tool (version) | OpenAPI 3.1 | OpenAPI 3.2 |', '| --- | --- | --- |']
for (const tool of TOOLS) {
  const installed = await versionOf(PACKAGES[tool])
  const label = tool === 'Swagger UI 5 (Chromium)' ? `Swagger UI ${await swaggerUiDistVersion()} (@fastify/swagger-ui ${installed}) in Chromium` : `${tool} ${installed}`
  lines.push(`| ${label} | ${table[tool]['3.1.0']} | ${table[tool]['3.2.0']} |`)
}
const markdown = `${lines.join('\n')}\n`
process.stdout.write(markdown)

if (process.argv.includes('--write')) {
  const file = join(root, 'docs/openapi.md')
  const text = await readFile(file, 'utf8')
  const start = '<!-- openapi-tools:start -->'
  const end = '<!-- openapi-tools:end -->'
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from === -1 || to === -1) throw new Error(`docs/openapi.md has no ${start} ... ${end} markers`)
  await writeFile(file, `${text.slice(0, from + start.length)}\n${markdown}${text.slice(to)}`)
  console.log('wrote the table into docs/openapi.md')
}
