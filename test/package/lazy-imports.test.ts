/**
 * Optional parts load only when used (issue 12): `import 'fastify-views'` loads neither ioredis (an
 * optional peer dependency) nor @fastify/swagger(-ui); docs load swagger, a Redis broker loads ioredis.
 * Each check runs in a fresh process, whose module cache holds only what the steps loaded.
 */
import { spawnSync } from 'node:child_process'
import t from 'tap'

t.test('the main entry loads ioredis and swagger only when an app uses them', async (t) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/loaded-packages.ts', 'lib/index.ts'], { encoding: 'utf8', timeout: 60_000 })
  t.equal(run.status, 0, run.stderr)
  t.same(JSON.parse(run.stdout), {
    import: [],
    docs: ['@fastify/swagger', '@fastify/swagger-ui'],
    redis: ['ioredis', '@fastify/swagger', '@fastify/swagger-ui']
  })
})

// The floors (issue 15) as the module loader sees them: loading the broker loaded the SSE route builder,
// and with it uuid, TypeBox's compiler and fast-json-stringify; the transport and the View base class
// load no package at all; the Redis entry point loads ioredis and not the main entry's framework.
t.test('each floor loads only what it needs: the broker no route builder, the transport no package', async (t) => {
  const modules = ['lib/broker/memory.ts', 'lib/sse/stream.ts', 'lib/sse/registry.ts', 'lib/views/view.ts', 'lib/redis.ts']
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/resolved-packages.ts', ...modules], { encoding: 'utf8', timeout: 60_000 })
  t.equal(run.status, 0, run.stderr)
  const loaded = JSON.parse(run.stdout) as Record<string, string[]>
  // The broker's errors come from the one error table (@fastify/error); TypeBox's type builder from the
  // problem document schema beside printableText (topic-names.ts uses it), not its compiler.
  t.same(loaded['lib/broker/memory.ts'], ['@fastify/error', '@sinclair/typebox'])
  t.same(loaded['lib/sse/stream.ts'], [])
  t.same(loaded['lib/sse/registry.ts'], [])
  t.same(loaded['lib/views/view.ts'], [])
  t.ok(loaded['lib/redis.ts'].includes('ioredis'), 'the Redis entry point loads ioredis')
  for (const name of ['fastify', 'uuid', 'fast-json-stringify', '@sinclair/typebox/compiler', '@fastify/swagger']) {
    t.notOk(loaded['lib/redis.ts'].includes(name), `the Redis entry point does not load ${name}`)
  }
})

t.test('the probe sees ESM and CommonJS loads: the main entry loads uuid, fast-json-stringify, the TypeBox compiler and fastify', async (t) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/resolved-packages.ts', 'lib/index.ts'], { encoding: 'utf8', timeout: 60_000 })
  t.equal(run.status, 0, run.stderr)
  const loaded = (JSON.parse(run.stdout) as Record<string, string[]>)['lib/index.ts']
  for (const name of ['uuid', 'fast-json-stringify', '@sinclair/typebox/compiler', 'fastify']) t.ok(loaded.includes(name), `${name} is among ${loaded.join(', ')}`)
  for (const name of ['ioredis', '@fastify/swagger', 'prom-client']) t.notOk(loaded.includes(name), `${name} is not loaded`)
})

