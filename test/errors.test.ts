/**
 * The error table against its documentation and the source, as fastify's test/internals/errors.test.js
 * does: the list is derived from lib/errors.ts, so a new entry that is not documented, a documented code
 * that does not exist, or a code written as a string outside the table fails here.
 */
import t from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import ts from 'typescript'
import * as errors from '../lib/errors.js'
import { CLIENT_ERROR_CODES } from '../lib/client/errors.js'

const root = new URL('../', import.meta.url)
const entries = Object.entries(errors)
const CODE = /^FVIEWS_ERR_[A-Z]+(?:_[A-Z]+)*$/

/** The errors page of the guide, and every page that may name a code (README.md and docs/*.md). */
async function pages (): Promise<{ errorsPage: string, every: Array<{ name: string, text: string }> }> {
  const names = ['README.md', ...(await readdir(new URL('docs/', root))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)]
  const every = await Promise.all(names.map(async (name) => ({ name, text: await readFile(new URL(name, root), 'utf8') })))
  return { errorsPage: every.find(({ name }) => name === 'docs/errors.md')!.text, every }
}

t.test('the table: 34 entries, each a createError constructor named after its code', async (t) => {
  t.equal(entries.length, 34, 'a new entry updates this count (and the docs page)')
  for (const [name, ErrorClass] of entries) {
    t.match(name, CODE, `${name} is FVIEWS_ERR_<AREA>_<REASON>`)
    t.equal(ErrorClass.code, name, `${name}.code is its own name`)
    const error = new (ErrorClass as unknown as new (...args: string[]) => Error & { code: string, statusCode: number })('a', 'b', 'c')
    t.ok(error instanceof Error, `${name} makes Errors`)
    t.ok(error instanceof ErrorClass, `${name} recognises its own errors`)
    t.equal(error.code, name, `${name} carries its own name as code`)
    t.ok(Number.isInteger(error.statusCode) && error.statusCode >= 400 && error.statusCode < 600, `${name} has an error status`)
    t.notOk(error.message.includes('%'), `${name}'s message has as many placeholders as its arguments`)
  }
  // Codes are distinct across entries: a shared code would make two entries indistinguishable.
  t.equal(new Set(entries.map(([, ErrorClass]) => ErrorClass.code)).size, entries.length)
})

t.test('every code is documented on docs/errors.md, and every code a page names exists', async (t) => {
  const { errorsPage, every } = await pages()
  for (const [name] of entries) t.ok(errorsPage.includes(`\`${name}\``), `${name} is documented in docs/errors.md`)
  for (const page of every) {
    for (const [code] of page.text.matchAll(/FVIEWS_ERR_[A-Z_]*[A-Z]/g)) t.ok(code in errors || (CLIENT_ERROR_CODES as readonly string[]).includes(code), `${code}, named in ${page.name}, is an entry of lib/errors.ts (or of the client's CLIENT_ERROR_CODES)`)
  }
})

/** Every .ts file under `dir`, as paths relative to the repository root. */
async function sourceFiles (dir: string): Promise<string[]> {
  const found = await readdir(new URL(dir, root), { recursive: true, withFileTypes: true })
  return found.filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => `${entry.parentPath.slice(new URL(root).pathname.length)}/${entry.name}`.replace(/^\/+/, ''))
}

/** The string and template-literal texts of a TypeScript source (comments are not literals). */
function literals (path: string, source: string): string[] {
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) found.push(node.text)
    ts.forEachChild(node, visit)
  }
  visit(ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true))
  return found
}

t.test('no FVIEWS_ERR_ code is written as a string in lib/ outside lib/errors.ts', async (t) => {
  // lib/client/ is apart: a browser bundle cannot carry @fastify/error, so its codes are the typed union
  // `ClientErrorCode` of lib/client/errors.ts (a literal outside it does not compile).
  const files = (await sourceFiles('lib')).filter((path) => path !== 'lib/errors.ts' && !path.startsWith('lib/client/'))
  t.ok(files.length > 40, `scanned ${files.length} files`)
  for (const path of files) {
    const strings = literals(path, await readFile(new URL(path, root), 'utf8')).filter((text) => text.includes('FVIEWS_ERR_'))
    t.same(strings, [], `${path} takes its codes from lib/errors.ts`)
  }
  // The scan itself sees strings and templates, and not comments.
  t.same(literals('probe.ts', "// 'FVIEWS_ERR_IN_COMMENT'\nconst a = 'FVIEWS_ERR_A'; const b = `x${a}FVIEWS_ERR_B`"), ['FVIEWS_ERR_A', 'x', 'FVIEWS_ERR_B'])
})
