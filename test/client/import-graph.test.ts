/**
 * The client loads no server code: bundled from its entry, its import graph is lib/client/ alone - no
 * fastify, typebox, ioredis, nor any other file of the library (the type imports are erased). The React
 * entry adds only `react`. (test/package/consumers.test.ts checks the same of the packed build.)
 */
import t from 'tap'
import { build } from 'esbuild'

async function inputsOf (entry: string, external: string[] = []): Promise<string[]> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', write: false, metafile: true, external, logLevel: 'silent' })
  return Object.keys(result.metafile.inputs).sort()
}

t.test('fastify-views/client bundles lib/client/ alone', async (t) => {
  t.same(await inputsOf('lib/client/index.ts'), ['lib/client/backoff.ts', 'lib/client/errors.ts', 'lib/client/event-stream.ts', 'lib/client/index.ts', 'lib/client/sse-parser.ts'])
})

t.test('fastify-views/react adds only react', async (t) => {
  const result = await build({ entryPoints: ['lib/client/react.ts'], bundle: true, format: 'esm', platform: 'browser', write: false, metafile: true, external: ['react'], logLevel: 'silent' })
  t.same(Object.keys(result.metafile.inputs).sort(), ['lib/client/react.ts'])
  t.same(result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].imports.map(({ path }) => path), ['react'])
})
