/** The client's error codes: each follows the library's form and is documented in docs/client.md, and the reverse. */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { CLIENT_ERROR_CODES, EventStreamError } from '../../lib/client/errors.js'

t.test('every client code is documented in docs/client.md, and every FVIEWS_ERR_CLIENT_ code there exists', async (t) => {
  const page = await readFile(new URL('../../docs/client.md', import.meta.url), 'utf8')
  for (const code of CLIENT_ERROR_CODES) {
    t.match(code, /^FVIEWS_ERR_CLIENT_[A-Z_]+$/)
    t.ok(page.includes(`| \`${code}\` |`), `${code} has a row in the table of docs/client.md`)
  }
  const named = new Set([...page.matchAll(/`(FVIEWS_ERR_CLIENT_[A-Z_]+)`/g)].map((match) => match[1]))
  t.same([...named].sort(), [...CLIENT_ERROR_CODES].sort())
  const error = new EventStreamError('FVIEWS_ERR_CLIENT_REFUSED', 'refused', { status: 401, final: true })
  t.match(error, { name: 'EventStreamError', code: 'FVIEWS_ERR_CLIENT_REFUSED', status: 401, problem: undefined, final: true, message: 'refused' })
  t.ok(error instanceof Error)
})
