/**
 * The floors of lib/ (.dependency-cruiser.cjs, issue 15): the real tree keeps them, and each rule catches
 * what it is there for - run against a small tree that breaks every rule once (type-only imports
 * included), beside imports the floors allow, which must pass.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'

const ROOT = resolve(import.meta.dirname, '../..')
const CONFIG = join(ROOT, '.dependency-cruiser.cjs')
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise')

interface Violation { rule: { name: string }, from: string, to: string }
interface Cruise { modules: Array<{ source: string }>, summary: { violations: Violation[] } }

function cruise (cwd: string): Cruise {
  const run = spawnSync(DEPCRUISE, ['lib', '--config', CONFIG, '--output-type', 'json'], { cwd, encoding: 'utf8', timeout: 100_000, maxBuffer: 64 * 1024 * 1024 })
  if (run.stdout === '') throw new Error(`depcruise gave no output (exit ${String(run.status)}): ${run.stderr}`)
  return JSON.parse(run.stdout) as Cruise
}

function tsFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

t.test('lib/ keeps its floors: no loop, nothing reaching up, and every file cruised', async (t) => {
  const result = cruise(ROOT)
  t.same(result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), [])
  const cruised = new Set(result.modules.map((module) => module.source).filter((source) => source.startsWith('lib/')))
  t.same(tsFiles(join(ROOT, 'lib')).map((file) => relative(ROOT, file)).filter((file) => !cruised.has(file)), [], 'no lib/ file escapes the rules')
})

t.test('each rule catches its own violation, type-only imports included, and lets the allowed ones pass', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fviews-floors-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'floors-fixture', type: 'module', dependencies: { fastify: '*' }, devDependencies: { tap: '*' } }),
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true }, include: ['lib', 'test'] }),
    'test/helper.ts': 'export const helper = 1\n',
    // core reaching up to the transport
    'lib/errors.ts': "import { stream } from './sse/stream.js'\nexport const errors = stream\n",
    'lib/symbols.ts': 'export const kKey: unique symbol = Symbol(\'key\')\n',
    // sse: a type-only import of a view is still an import
    'lib/sse/encoder.ts': "import { kKey } from '../symbols.js'\nexport const encoder = kKey\n",
    'lib/sse/registry.ts': 'export const registry = 1\n',
    'lib/sse/stream.ts': "import type { View } from '../views/view.js'\nexport const stream = 1\nexport type S = View\n",
    // broker: the encoder is allowed, the registry (even type-only) is not
    'lib/broker/broker.ts': "import { encoder } from '../sse/encoder.js'\nimport type { registry } from '../sse/registry.js'\nexport const broker = encoder\nexport type R = typeof registry\n",
    // views: a loop made of type-only imports; views -> sse is allowed (downward)
    'lib/views/view.ts': "import type { Action } from './actions.js'\nexport class View { a?: Action }\n",
    'lib/views/route.ts': "import { encoder } from '../sse/encoder.js'\nexport const route = encoder\n",
    'lib/views/actions.ts': "import type { View } from './view.js'\nexport interface Action { view: View }\n",
    // views importing a devDependency (tap is one of the fixture's)
    'lib/views/dev.ts': "import t from 'tap'\nexport const dev = t\n",
    // router reaching up to topics
    'lib/router/router.ts': "import { topics } from '../topics/topics.js'\nexport const router = topics\n",
    // topics reaching into the tests
    'lib/topics/topics.ts': "import { helper } from '../../test/helper.js'\nimport { broker } from '../broker/broker.js'\nexport const topics = helper + broker\n",
    // app reaching up to the entry point
    'lib/app/app.ts': "import { entry } from '../index.js'\nexport const app = entry\n",
    'lib/index.ts': "import { router } from './router/router.js'\nexport const entry = router\n",
    // a root module on no floor
    'lib/stray.ts': "import { kKey } from './symbols.js'\nexport const stray = kKey\n"
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')

  // A package is named from node_modules on (the fixture's node_modules is a link to the project's).
  const found = cruise(dir).summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*?node_modules\//, 'node_modules/')}`).sort()
  t.same(found, [
    'app-imports-no-higher-floor: lib/app/app.ts -> lib/index.ts',
    'broker-takes-only-the-encoder-from-sse: lib/broker/broker.ts -> lib/sse/registry.ts',
    'core-imports-no-higher-floor: lib/errors.ts -> lib/sse/stream.ts',
    'lib-has-a-floor: lib/stray.ts -> lib/symbols.ts',
    'lib-imports-no-dev-dependency: lib/views/dev.ts -> node_modules/tap/dist/esm/index.d.ts',
    'lib-imports-no-tests: lib/topics/topics.ts -> test/helper.ts',
    // A loop is reported once, at the first of its modules.
    'no-circular: lib/views/actions.ts -> lib/views/view.ts',
    'router-imports-no-higher-floor: lib/router/router.ts -> lib/topics/topics.ts',
    'sse-imports-no-higher-floor: lib/sse/stream.ts -> lib/views/view.ts'
  ].sort())
})
