/**
 * The packed package, installed as a user gets it: `npm pack`, then the tarball unpacked into the
 * node_modules of a fresh directory whose other packages are links to this repository's (offline, and
 * fast). ioredis is left out unless asked for: it is an optional peer dependency.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const REPO = resolve(import.meta.dirname, '../..')
export const TSC = join(REPO, 'node_modules/typescript/bin/tsc')

export interface Packed { tarball: string, files: string[], dir: string, cleanup: () => void }

/** Builds dist/ and packs it; `files` lists the tarball's paths. */
export function pack (): Packed {
  execFileSync(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'pipe' })
  execFileSync(process.execPath, ['scripts/cjs-types.mjs'], { cwd: REPO, stdio: 'pipe' })
  const dir = mkdtempSync(join(tmpdir(), 'fastify-views-pack-'))
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const [info] = JSON.parse(out) as Array<{ filename: string, files: Array<{ path: string }> }>
  return { tarball: join(dir, info.filename), files: info.files.map((file) => file.path), dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A directory whose node_modules holds the unpacked tarball and links to the repository's packages. */
export function install (packed: Packed, name: string, options: { ioredis: boolean }): string {
  const root = join(packed.dir, name)
  const modules = join(root, 'node_modules')
  mkdirSync(join(modules, 'fastify-views'), { recursive: true })
  const left = new Set(['fastify-views', '.bin', '.package-lock.json', ...(options.ioredis ? [] : ['ioredis'])])
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (!left.has(entry)) symlinkSync(join(REPO, 'node_modules', entry), join(modules, entry))
  }
  execFileSync('tar', ['xzf', packed.tarball, '--strip-components=1', '-C', join(modules, 'fastify-views')])
  return root
}
