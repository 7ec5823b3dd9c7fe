import t from 'tap'
import { readFile } from 'node:fs/promises'
import * as errors from '../lib/errors.js'
import { CLIENT_ERROR_CODES } from '../lib/client/errors.js'

t.test('the error table: each constant is named after its code, and every code is documented', async (t) => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const entries = Object.entries(errors)
  t.ok(entries.length >= 10)
  for (const [name, ErrorClass] of entries) {
    const error = new (ErrorClass as any)('a', 'b', 'c')
    t.equal(error.code, name, `${name} carries its own name as code`)
    t.match(name, /^FVIEWS_ERR_[A-Z]+_[A-Z_]+$/)
    t.ok(readme.includes(`\`${name}\``), `${name} is documented in README.md`)
  }
  const documented = [...readme.matchAll(/`(FVIEWS_ERR_[A-Z_]+)`/g)].map((match) => match[1])
  const known = new Set([...entries.map(([name]) => name), 'FVIEWS_ERR_VALIDATION', 'FVIEWS_ERR_INTERNAL', 'FVIEWS_ERR_ROUTE_NOT_FOUND', 'FVIEWS_ERR_METHOD_NOT_ALLOWED',
    'FVIEWS_ERR_TOPIC_FORBIDDEN', 'FVIEWS_ERR_AUTHORIZE_FAILED', 'FVIEWS_ERR_OVER_CAPACITY', 'FVIEWS_ERR_UNHEALTHY',
    'FVIEWS_ERR_EVENT_NOT_PUBLISHED', 'FVIEWS_ERR_EVENT_UNCONFIRMED',
    'FVIEWS_ERR_REQUEST_MALFORMED', 'FVIEWS_ERR_REQUEST_HEADERS_TOO_LARGE', 'FVIEWS_ERR_REQUEST_TIMEOUT',
    'FVIEWS_ERR_STREAM_NOT_ACCEPTABLE',
    // fastify-views/client's own (not in the server's table: a browser bundle must not carry @fastify/error).
    ...CLIENT_ERROR_CODES])
  for (const code of documented) t.ok(known.has(code), `${code} documented in README.md exists`)
})
