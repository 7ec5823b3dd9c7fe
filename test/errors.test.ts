import t from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import * as errors from '../lib/errors.js'

// The codes are documented on the errors page of the guide; every code any page names must exist.
const page = async (path: string) => await readFile(new URL(`../${path}`, import.meta.url), 'utf8')

t.test('the error table: each constant is named after its code, and every code is documented', async (t) => {
  const errorsPage = await page('docs/errors.md')
  const pages = ['README.md', ...(await readdir(new URL('../docs/', import.meta.url))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)]
  const everyPage = (await Promise.all(pages.map(page))).join('\n')
  const entries = Object.entries(errors)
  t.ok(entries.length >= 10)
  for (const [name, ErrorClass] of entries) {
    const error = new (ErrorClass as any)('a', 'b', 'c')
    t.equal(error.code, name, `${name} carries its own name as code`)
    t.match(name, /^FVIEWS_ERR_[A-Z]+_[A-Z_]+$/)
    t.ok(errorsPage.includes(`\`${name}\``), `${name} is documented in docs/errors.md`)
  }
  const documented = [...everyPage.matchAll(/`(FVIEWS_ERR_[A-Z_]+)`/g)].map((match) => match[1])
  const known = new Set([...entries.map(([name]) => name), 'FVIEWS_ERR_VALIDATION', 'FVIEWS_ERR_INTERNAL', 'FVIEWS_ERR_ROUTE_NOT_FOUND', 'FVIEWS_ERR_METHOD_NOT_ALLOWED',
    'FVIEWS_ERR_TOPIC_FORBIDDEN', 'FVIEWS_ERR_AUTHORIZE_FAILED', 'FVIEWS_ERR_OVER_CAPACITY', 'FVIEWS_ERR_UNHEALTHY',
    'FVIEWS_ERR_EVENT_NOT_PUBLISHED', 'FVIEWS_ERR_EVENT_UNCONFIRMED',
    'FVIEWS_ERR_REQUEST_MALFORMED', 'FVIEWS_ERR_REQUEST_HEADERS_TOO_LARGE', 'FVIEWS_ERR_REQUEST_TIMEOUT',
    'FVIEWS_ERR_STREAM_NOT_ACCEPTABLE'])
  for (const code of documented) t.ok(known.has(code), `${code} named in README.md or docs/ exists`)
})
