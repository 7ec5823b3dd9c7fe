/**
 * The packed tarball in consumer projects (issue 12): it typechecks with `skipLibCheck: false` under
 * module/moduleResolution nodenext (ESM and CommonJS), node16 (ESM and CommonJS), bundler and commonjs/node10, with
 * `strict`, `noImplicitOverride` and declarations emitted (every exported signature's types nameable);
 * the compiled service runs on Node (`require()` of the ESM build included), serves real HTTP, and
 * without ioredis a Redis setting fails at startup with the fix in the message. It also checks what
 * the tarball holds, that source maps point at shipped files, and that optional packages load lazily.
 */
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import { install, pack, REPO, TSC } from './packed.js'
import { unnameableTypes } from './public-surface.js'

// Six projects, each checking every declaration it loads (@types/node and Fastify's included): about a
// minute on two idle cores, longer on a loaded machine.
t.setTimeout(900_000)

const CONSUMER = join(REPO, 'test/package/consumer')
const packed = pack()
// On exit rather than in a teardown: the consumer runs finish after the root test's own body.
process.on('exit', packed.cleanup)

interface Consumer { name: string, type: 'module' | 'commonjs', module: string, moduleResolution: string, esModuleInterop?: boolean }
const CONSUMERS: Consumer[] = [
  { name: 'nodenext-esm', type: 'module', module: 'nodenext', moduleResolution: 'nodenext' },
  { name: 'nodenext-cjs', type: 'commonjs', module: 'nodenext', moduleResolution: 'nodenext' },
  { name: 'node16-esm', type: 'module', module: 'node16', moduleResolution: 'node16' },
  { name: 'node16-cjs', type: 'commonjs', module: 'node16', moduleResolution: 'node16' },
  { name: 'bundler', type: 'module', module: 'esnext', moduleResolution: 'bundler' },
  // Fastify's own types (pino's) need esModuleInterop under module commonjs, with or without this package.
  { name: 'commonjs', type: 'commonjs', module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }
]

function project (root: string, consumer: Consumer, sources: string[], options: { noEmit?: boolean } = {}): string {
  const dir = join(root, consumer.name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${consumer.name}`, private: true, type: consumer.type }))
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', lib: ['ES2023'], types: ['node'], module: consumer.module, moduleResolution: consumer.moduleResolution,
      ...(consumer.esModuleInterop === true ? { esModuleInterop: true } : {}), strict: true, noImplicitOverride: true,
      // TypeScript's own lib files are not ours to check; every package's declarations are.
      skipDefaultLibCheck: true, skipLibCheck: false, declaration: true, outDir: 'out', rootDir: '.',
      ...(options.noEmit === true ? { noEmit: true } : {})
    },
    files: sources
  }))
  for (const source of sources) copyFileSync(join(CONSUMER, source), join(dir, source))
  return dir
}

function run (command: string, args: string[], cwd: string, options: { node?: string[] } = {}) {
  return spawnSync(command, [...(options.node ?? []), ...args], { cwd, encoding: 'utf8', timeout: 120_000 })
}

interface Ran { status: number | null, stdout: string, stderr: string }
function runAsync (args: string[], cwd: string, timeout = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, timeout })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/**
 * Typechecks projects with one `tsc -b --verbose`: each project is its own program, checked in full (every
 * declaration, skipLibCheck: false) and emitted as `tsc -p` would, but the build parses each declaration
 * file once for all its projects (@types/node, Fastify's and this package's are most of the work: six
 * separate runs took 66 s of CPU, one build of the six 37 s). A project's output is what the build printed
 * under its own "Building project" line. Its status is 0 when it was built without a word (the build went on
 * past it, or ended by itself), the build's status otherwise (errors, or not reached).
 */
async function typecheck (dirs: string[], cwd: string): Promise<Map<string, Ran>> {
  const build = await runAsync([TSC, '-b', '--verbose', ...dirs], cwd, 600_000)
  const sections = new Map<string, { lines: string[], done: boolean }>()
  let current: { lines: string[], done: boolean } | undefined
  for (const line of build.stdout.split('\n')) {
    const building = /^\S.* - Building project '(.+)'\.\.\.$/.exec(line)
    // The build's own progress lines (and a closing count, where it prints one) end a project's section.
    const progress = building !== null || /^\S.* - (Projects in this build:|Project '.+' is )|^Found \d+ errors?/.test(line)
    if (progress && current !== undefined) { current.done = true; current = undefined }
    if (building !== null) { current = { lines: [], done: false }; sections.set(dirname(building[1]), current) }
    if (!progress && current !== undefined && line.trim() !== '') current.lines.push(`${line}\n`)
  }
  if (current !== undefined && build.status !== null) current.done = true
  return new Map(dirs.map((dir) => {
    const section = sections.get(resolve(cwd, dir))
    if (section === undefined) return [dir, { status: build.status, stdout: `not reached by tsc -b:\n${build.stdout}`, stderr: build.stderr }]
    const stdout = section.lines.join('')
    return [dir, { status: build.status === 0 || (section.done && stdout === '') ? 0 : build.status, stdout, stderr: build.stderr }]
  }))
}

// Two at a time: the machine has two cores.
let slots = 2
const waiting: Array<() => void> = []
async function limited<T> (job: () => Promise<T>): Promise<T> {
  if (slots === 0) await new Promise<void>((resolve) => waiting.push(resolve))
  else slots--
  try { return await job() } finally {
    const next = waiting.shift()
    if (next !== undefined) next()
    else slots++
  }
}

t.test('the tarball holds the build, its sources, the license and the docs the README links to, nothing else', async (t) => {
  t.ok(packed.files.includes('LICENSE'))
  t.ok(packed.files.includes('docs/README.md'))
  t.ok(packed.files.includes('dist/lib/index.js'))
  t.ok(packed.files.includes('dist/lib/index.d.ts'))
  t.ok(packed.files.includes('dist/lib/redis.d.ts'))
  t.ok(packed.files.includes('dist/lib/testing/index.d.ts'))
  t.ok(packed.files.includes('dist/lib/testing/index.d.cts'))
  t.ok(packed.files.includes('dist/lib/client/index.d.cts'))
  t.ok(packed.files.includes('dist/lib/client/react.js'))
  t.ok(packed.files.includes('lib/index.ts'))
  t.same(packed.files.filter((file) => !/^(dist\/lib\/|lib\/|docs\/[A-Za-z-]+\.md$|LICENSE$|README\.md$|CHANGELOG\.md$|package\.json$)/.test(file)), [])
})

const root = install(packed, 'without-ioredis', { ioredis: false })
const withRedis = install(packed, 'with-ioredis', { ioredis: true })
// nodenext reads the exports map; commonjs (node10 resolution) ignores it and needs typesVersions.
const REDIS_CONSUMERS = CONSUMERS.filter(({ name }) => name === 'nodenext-esm' || name === 'commonjs')
const dirs = CONSUMERS.map((consumer) => project(root, consumer, ['app.ts', 'testing.ts', 'client.ts']))
const redisDirs = REDIS_CONSUMERS.map((consumer) => project(withRedis, consumer, ['redis.ts'], { noEmit: true }))
// Two builds at once, one per core, each of the projects that read declarations alike (node16/nodenext set each
// declaration's module format from its package.json; bundler and node10 do not), the with-ioredis ones included.
const nodeModes = (consumer: Consumer): boolean => /^node(next|16)$/.test(consumer.moduleResolution)
const checked = Promise.all([true, false].map((node) => typecheck([
  ...CONSUMERS.flatMap((consumer, index) => nodeModes(consumer) === node ? [dirs[index]] : []),
  ...REDIS_CONSUMERS.flatMap((consumer, index) => nodeModes(consumer) === node ? [redisDirs[index]] : [])
], packed.dir)))
  .then((maps) => new Map(maps.flatMap((map) => [...map])))
// The server the compiled client.ts connects to (from the sources: the client's side is what is checked).
const ticks = Fastify({ logger: false, forceCloseConnections: true })
ticks.get('/ticks', (_request, reply) => {
  reply.hijack()
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'heartbeat-interval': '15' })
  reply.raw.write('event: tick\ndata: 1\n\n')
})
const ticksBase = ticks.listen({ port: 0, host: '127.0.0.1' })
// Started together (the runs two at a time, once the builds are done), checked one subtest each.
const outcomes = CONSUMERS.map(async (consumer, index) => {
  const dir = dirs[index]
  const tsc = (await checked).get(dir) as Ran
  return await limited(() => runs(dir, tsc))
})
async function runs (dir: string, tsc: Ran) {
  const notRun = { status: null, stdout: '{}', stderr: 'not run: tsc failed' }
  const node = tsc.status === 0 ? await runAsync(['out/app.js'], dir) : notRun
  const testing = tsc.status === 0 ? await runAsync(['out/testing.js'], dir) : notRun
  const client = tsc.status === 0 ? await runAsync(['out/client.js', await ticksBase], dir) : notRun
  return { tsc, node, testing, client }
}
void Promise.allSettled(outcomes).then(() => ticks.close())
for (const [index, consumer] of CONSUMERS.entries()) {
  t.test(`a ${consumer.name} project typechecks and runs`, async (t) => {
    const { tsc, node, testing, client } = await outcomes[index]
    t.equal(tsc.stdout + tsc.stderr, '', 'tsc reports nothing')
    t.equal(tsc.status, 0)
    t.equal(node.status, 0, node.stderr)
    t.equal(node.stderr, '', 'no warnings')
    t.same(JSON.parse(node.stdout), {
      hello: { message: 'hello consumer' },
      created: [201, { id: 1, title: 'x' }],
      ticks: ': \n\nevent: tick\ndata: 1\n\n',
      createApp: ['tasks', 1, 0],
      plugin: ['tasks', 1, 0],
      redis: ['FVIEWS_ERR_OPTION_INVALID', true]
    })
    // fastify-views/testing: a view's stream on an app that does not listen, typed by the view.
    t.equal(testing.status, 0, testing.stderr)
    t.same(JSON.parse(testing.stdout), { tick: ['tick', 1], body: ': \n\nevent: tick\ndata: 1\n\n' })
    t.equal(client.status, 0, client.stderr)
    t.equal(client.stderr, '', 'the client: no warnings')
    t.same(JSON.parse(client.stdout), { tick: 1, states: ['open', 'closed'], refused: [true, 404, 'FVIEWS_ERR_CLIENT_REFUSED'] }, 'fastify-views/client runs')
  })
}

t.test("the packed client's import graph is its own directory: no server code, no dependency; the React entry adds react", async (t) => {
  const dist = join(root, 'node_modules/fastify-views/dist/lib/client')
  const imports = (file: string): string[] => [...readFileSync(join(dist, file), 'utf8').matchAll(/^(?:import|export)[^'"]*from\s*['"]([^'"]+)['"]/gm)].map((match) => match[1])
  const seen = new Set<string>()
  const walk = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    for (const specifier of imports(file)) {
      t.match(specifier, /^\.\/[a-z-]+\.js$/, `${file} imports ${specifier}: a file of the client's own directory`)
      walk(specifier.slice(2))
    }
  }
  walk('index.js')
  t.same([...seen].sort(), ['backoff.js', 'errors.js', 'event-stream.js', 'index.js', 'sse-parser.js'])
  t.same(imports('react.js'), ['react'])
})

t.test('with ioredis installed, fastify-views/redis typechecks, and optional packages load only when used', async (t) => {
  const results = await checked
  for (const [index, consumer] of REDIS_CONSUMERS.entries()) {
    const tsc = results.get(redisDirs[index]) as Ran
    t.equal(tsc.stdout + tsc.stderr, '', `${consumer.name}: tsc reports nothing`)
  }
  const entry = join(withRedis, 'node_modules/fastify-views/dist/lib/index.js')
  const loaded = run(process.execPath, [join(REPO, 'test/helpers/loaded-packages.ts'), entry], REPO, { node: ['--import', 'tsx'] })
  t.equal(loaded.status, 0, loaded.stderr)
  t.same(JSON.parse(loaded.stdout), {
    import: [],
    docs: ['@fastify/swagger', '@fastify/swagger-ui'],
    redis: ['ioredis', '@fastify/swagger', '@fastify/swagger-ui']
  })
})

t.test('source maps and stack traces name files the package ships', async (t) => {
  const pkg = join(root, 'node_modules/fastify-views')
  for (const file of packed.files.filter((path) => path.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(pkg, file), 'utf8')) as { sources: string[] }
    for (const source of map.sources) {
      const target = resolve(pkg, dirname(file), source)
      if (!existsSync(target)) t.fail(`${file} names ${source}, which the package does not ship`)
    }
  }
  const script = `import(${JSON.stringify(join(pkg, 'dist/lib/index.js'))}).then((views) => {
    try { new views.ViewRouter().registerView(class NotAView {}) } catch (error) { process.stdout.write(error.stack) }
  })`
  const traced = run(process.execPath, ['--enable-source-maps', '-e', script], root)
  const frames = [...traced.stdout.matchAll(/node_modules\/fastify-views\/([^:)]+):\d+/g)].map((match) => match[1])
  t.ok(frames.length > 0, traced.stdout)
  t.ok(frames.every((frame) => frame.startsWith('lib/') && frame.endsWith('.ts')), `frames name the TypeScript sources: ${frames.join(', ')}`)
  for (const frame of frames) t.ok(existsSync(join(pkg, frame)), `${frame} is shipped`)
})

t.test('every type an exported declaration names is exported too', async (t) => {
  const dist = join(root, 'node_modules/fastify-views/dist/lib')
  // A non-generic alias of Record<string, string | undefined> (lib/app/settings.ts): TypeScript writes it out.
  const written = new Set(['Env (in resolveSettings)'])
  const opaque = ['TopicState', 'BrokerMessage', 'MessageRun', 'Subscription']
  t.same(unnameableTypes([join(dist, 'index.d.ts'), join(dist, 'redis.d.ts'), join(dist, 'testing/index.d.ts'), join(dist, 'client/index.d.ts'), join(dist, 'client/react.d.ts')], opaque).filter((name) => !written.has(name)), [])
})
