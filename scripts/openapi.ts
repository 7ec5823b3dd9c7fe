/**
 * Writes openapi/<example>.json from each example's app; `--check` fails when a committed document
 * differs from what the code generates (the drift test does the same in the tap suite).
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { generateDocuments } from './openapi-documents.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const check = process.argv.includes('--check')
let stale = 0
await mkdir(`${root}openapi`, { recursive: true })
for (const { name, text } of await generateDocuments()) {
  const file = `${root}openapi/${name}.json`
  if (check) {
    const committed = await readFile(file, 'utf8').catch(() => '')
    if (committed !== text) { stale++; console.error(`openapi/${name}.json is out of date: run npm run openapi`) }
  } else {
    await writeFile(file, text)
    console.log(`wrote openapi/${name}.json`)
  }
}
process.exit(stale === 0 ? 0 : 1)
