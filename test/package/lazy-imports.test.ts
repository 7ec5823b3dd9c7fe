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
