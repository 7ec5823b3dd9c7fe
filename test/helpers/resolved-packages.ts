/**
 * Prints, as JSON, the packages (by name) that importing each given module resolves, ESM and CommonJS
 * alike: a resolve hook reports every import, and CommonJS requires show in require.cache.
 * Run as `node --import tsx test/helpers/resolved-packages.ts <module>...`, each module a file path;
 * the modules are imported one after another and each gets the packages that were new when it loaded.
 */
import { createRequire, register } from 'node:module'
import { pathToFileURL } from 'node:url'
import { MessageChannel } from 'node:worker_threads'

const require = createRequire(import.meta.url)
const { port1, port2 } = new MessageChannel()
const urls = new Set<string>()
port1.on('message', (url: string) => urls.add(url))
register('./resolved-packages-hook.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] })

function packages (): Set<string> {
  const names = new Set<string>()
  for (const file of [...urls, ...Object.keys(require.cache)]) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)
    if (match === null) continue
    // TypeBox's compiler is the costly part of TypeBox: named on its own.
    names.add(match[1] === '@sinclair/typebox' && file.includes('/compiler/') ? '@sinclair/typebox/compiler' : match[1])
  }
  return names
}

const result: Record<string, string[]> = {}
let before = packages()
for (const module of process.argv.slice(2)) {
  await import(pathToFileURL(module).href)
  // The hook's messages arrive asynchronously: let them in before reading.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const now = packages()
  result[module] = [...now].filter((name) => !before.has(name)).sort()
  before = now
}
port1.close()
process.stdout.write(JSON.stringify(result))
