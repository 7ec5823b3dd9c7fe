/**
 * fastify-views/testing is an entry of its own: nothing the main entry (or fastify-views/redis) imports,
 * statically or dynamically, reaches lib/testing/, so `import 'fastify-views'` never loads the helpers.
 * Checked on the module graph of the sources, which the build keeps file for file.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const REPO = resolve(import.meta.dirname, '../..')
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g

/** Every source file `entry` reaches through relative imports (`./x.js` is `./x.ts` in the sources). */
function reached (entry: string): Set<string> {
  const seen = new Set<string>()
  const queue = [resolve(REPO, entry)]
  while (queue.length > 0) {
    const file = queue.pop() as string
    if (seen.has(file)) continue
    seen.add(file)
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      queue.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')))
    }
  }
  return new Set([...seen].map((file) => relative(REPO, file)))
}

t.test('the main entry and fastify-views/redis do not reach lib/testing/', async (t) => {
  for (const entry of ['lib/index.ts', 'lib/redis.ts']) {
    const files = reached(entry)
    t.ok(files.size > (entry === 'lib/index.ts' ? 30 : 3), `${entry} reaches ${files.size} files (the walk works)`)
    t.same([...files].filter((file) => file.startsWith('lib/testing/')), [], entry)
  }
  // The walk sees what the testing entry imports (the client's parser, a floor-mate): it would see the main entry reach it.
  t.ok(reached('lib/testing/index.ts').has('lib/client/sse-parser.ts'))
})
