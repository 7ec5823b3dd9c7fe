/**
 * Every committed OpenAPI document, and every example's document in OpenAPI 3.2, passes `@redocly/cli lint`
 * with its recommended ruleset: no errors and no warnings. The linter is run as users run it (its CLI, JSON
 * output); a document with known faults shows the check can fail.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { generateDocuments } from '../../scripts/openapi-documents.js'

const run = promisify(execFile)
// Each tsc or CLI run takes seconds alone, several times that on a busy machine: not a timed assertion.
t.setTimeout(360_000)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js')

interface Problem { ruleId: string, severity: 'error' | 'warn', message: string, location: Array<{ pointer: string }> }

/** Lints files with the recommended ruleset; the problems of each file, as `rule at pointer: message`. */
async function lint (files: string[]): Promise<string[][]> {
  return Promise.all(files.map(async (file) => {
    // Exit code 1 when there are errors: the JSON report on stdout is the answer either way.
    const { stdout } = await run(process.execPath, [CLI, 'lint', '--extends=recommended', '--format=json', file], { cwd: ROOT })
      .catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
    const report = JSON.parse(stdout) as { problems: Problem[] }
    return report.problems.map((problem) => `${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`)
  }))
}

t.test('every committed document lints clean', async (t) => {
  const names = (await readdir(join(ROOT, 'openapi'))).filter((name) => name.endsWith('.json')).sort()
  t.same(names, ['crm-comments.json', 'quickstart.json', 'stocks.json'], 'the documents under openapi/')
  const results = await lint(names.map((name) => join(ROOT, 'openapi', name)))
  names.forEach((name, index) => t.same(results[index], [], `openapi/${name}: no errors, no warnings`))
})

t.test('every example lints clean in OpenAPI 3.2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fviews-lint-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const documents = await generateDocuments({ openapiVersion: '3.2.0' })
  const files = []
  for (const { name, text, document } of documents) {
    t.equal(document.openapi, '3.2.0')
    files.push(join(dir, `${name}.json`))
    await writeFile(files.at(-1)!, text)
  }
  const results = await lint(files)
  documents.forEach(({ name }, index) => t.same(results[index], [], `${name} in 3.2: no errors, no warnings`))
})

t.test('the lint fails on what the documents used to have: no servers, no security, a raw example for a JSON schema', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fviews-lint-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const document = JSON.parse(await readFile(join(ROOT, 'openapi/stocks.json'), 'utf8'))
  delete document.servers
  delete document.security
  delete document.info.license
  const media = document.paths['/stocks'].get.responses['200'].content['text/event-stream']
  media.example = 'event: price\ndata: {"symbol":"AAPL","price":1}\n\n'
  const file = join(dir, 'faulty.json')
  await writeFile(file, JSON.stringify(document))
  const [problems] = await lint([file])
  t.same(problems.map((problem) => problem.split(' at ')[0]).sort(), [
    'error no-empty-servers',
    'error security-defined',
    'error security-defined',
    'warn info-license',
    'warn no-invalid-media-type-examples'
  ])
})
