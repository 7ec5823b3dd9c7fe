#!/usr/bin/env node
// After `tsc -p tsconfig.build.json`: a CommonJS copy of every declaration file (.d.ts -> .d.cts, relative
// imports rewritten to the .cjs copies), which the exports map's `require` condition names.
// Why: the package is ESM and `require()` loads it as is (require(esm), Node >= 20.19), but TypeScript
// resolves the dependencies of a declaration by the mode of the file that imports them. A CommonJS project
// reading ESM declarations would see @sinclair/typebox's ESM types while its own code sees the CommonJS
// ones: two different `[Kind]` symbols, and every schema it passes fails with TS2741. Declarations in
// CommonJS mode resolve typebox as the project does.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = process.argv[2] ?? 'dist/lib'
const RELATIVE = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.js(['"])/g

let count = 0
for (const entry of readdirSync(root, { recursive: true })) {
  const file = join(root, String(entry))
  if (!file.endsWith('.d.ts')) continue
  const source = readFileSync(file, 'utf8')
    .replace(RELATIVE, '$1$2.cjs$3')
    .replace(/\/\/# sourceMappingURL=(\S+)\.d\.ts\.map/, '//# sourceMappingURL=$1.d.ts.map')
  writeFileSync(file.slice(0, -'.d.ts'.length) + '.d.cts', source)
  count++
}
process.stdout.write(`cjs-types: ${count} declaration files\n`)
