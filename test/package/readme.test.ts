/**
 * Every TypeScript snippet of README.md and of the guide (docs/*.md) is complete: each compiles on its own,
 * as a user's file that imports 'fastify-views', with strict and noImplicitOverride (issue 12). Snippets that
 * start a server are started (on a free port instead of 3000) and probed over HTTP.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { REPO, TSC } from './packed.js'

// The documents whose snippets are checked: the README and every page of docs/ (issue 15 moved the guide there).
const documents = ['README.md', ...readdirSync(join(REPO, 'docs')).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)]
interface Snippet { document: string, source: string, heading: string }
const snippets: Snippet[] = documents.flatMap((document) => {
  const text = readFileSync(join(REPO, document), 'utf8')
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => {
    const before = text.slice(0, match.index)
    return { document, source: match[1], heading: [...before.matchAll(/^#+ (.+)$/gm)].at(-1)?.[1] ?? 'top' }
  })
})

mkdirSync(join(REPO, 'test-artifacts'), { recursive: true })
const dir = mkdtempSync(join(REPO, 'test-artifacts', 'readme-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
  extends: '../../tsconfig.json',
  compilerOptions: {
    noEmit: true, rootDir: '../..', noImplicitOverride: true, strict: true, baseUrl: '.',
    // As a user's project sees the package: 'fastify-views' is the library's main entry.
    paths: { 'fastify-views': ['../../lib/index.ts'], 'fastify-views/redis': ['../../lib/redis.ts'], 'fastify-views/testing': ['../../lib/testing/index.ts'], 'fastify-views/client': ['../../lib/client/index.ts'], 'fastify-views/react': ['../../lib/client/react.ts'] }
  },
  include: ['*.ts'],
  exclude: []
}))
const files = snippets.map((snippet, index) => {
  const file = `snippet-${index + 1}.ts`
  writeFileSync(join(dir, file), snippet.source)
  return file
})

t.test('the README and the guide have their TypeScript snippets', async (t) => {
  t.ok(snippets.length >= 5, `${snippets.length} snippets`)
  t.ok(documents.length >= 9, `${documents.join(', ')}`)
  // The pages whose subject is code show it: a page that lost its snippets in a move is caught here.
  for (const page of ['docs/views.md', 'docs/plugin.md', 'docs/sse.md', 'docs/topics.md']) {
    t.ok(snippets.some((snippet) => snippet.document === page), `${page} has TypeScript snippets`)
  }
})

t.test('every TypeScript snippet compiles with strict and noImplicitOverride', async (t) => {
  const tsc = spawnSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 300_000 })
  for (const [index, file] of files.entries()) {
    const errors = tsc.stdout.split('\n').filter((line) => line.includes(`${file}(`))
    t.same(errors, [], `snippet ${index + 1} (${snippets[index].document}, under "${snippets[index].heading}") compiles`)
  }
  t.equal(tsc.status, 0, tsc.stdout)
})

// A server snippet is run with its port swapped for a free one; it reports the address it listens on.
async function start (t: { match: (found: string, pattern: RegExp, message: string) => void, teardown: (fn: () => void) => void }, index: number): Promise<string> {
  if (index < 0) throw new Error('the server snippet is missing from the README and the guide')
  const source = snippets[index].source
  t.match(source, /await app\.listen\(\{ port: 3000 \}\)/, 'the snippet starts a server')
  const file = join(dir, `run-${index + 1}.ts`)
  writeFileSync(file, source.replace('await app.listen({ port: 3000 })', "process.stdout.write(`${await app.listen({ port: 0, host: '127.0.0.1' })}\\n`)"))
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: dir, env: { ...process.env, TSX_TSCONFIG_PATH: join(dir, 'tsconfig.json'), REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  return await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const line = /^(http:\/\/\S+)\n/m.exec(out)
      if (line !== null) resolve(line[1])
    })
    child.on('exit', (code) => reject(new Error(`snippet ${index + 1} exited with ${code}: ${stderr}`)))
  })
}

const serving = (pattern: RegExp) => snippets.findIndex((snippet) => pattern.test(snippet.source))

t.test('the view snippet serves its greeting', async (t) => {
  const base = await start(t, serving(/class Hello extends APIView/))
  const response = await fetch(`${base}/hello?name=ada`)
  t.equal(response.status, 200)
  t.same(await response.json(), { message: 'hello ada' })
  const docs = await fetch(`${base}/docs/json`)
  t.equal(docs.status, 200)
  t.ok(Object.keys((await docs.json() as { paths: object }).paths).includes('/hello'))
})

t.test('the topic-streams snippet creates tasks and streams their events', async (t) => {
  const base = await start(t, serving(/SubscriptionView\([\s\S]*app\.listen\(\{ port: 3000 \}\)/))
  const controller = new AbortController()
  t.teardown(() => controller.abort())
  const stream = await fetch(`${base}/events?topic=tasks`, { signal: controller.signal })
  t.equal(stream.status, 200)
  t.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  const created = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"write docs"}' })
  t.equal(created.status, 201)
  t.same(await created.json(), { id: 1, title: 'write docs' })
  const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  while (!text.includes('event: task:created')) {
    const { value, done } = await reader.read()
    if (done) break
    text += value
  }
  t.match(text, /event: subscribed\n/)
  t.match(text, /event: task:created\ndata: \{"id":1\}\n\n/)
})
