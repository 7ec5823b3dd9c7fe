/**
 * The packed package, installed as a user gets it: `npm pack` of a fresh clone (no dist/, so the
 * package's own `prepack` must build it, as for a git install), then the tarball unpacked into the
 * node_modules of a fresh directory whose other packages are links to this repository's (offline, and
 * fast). ioredis is left out unless asked for: it is an optional peer dependency.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

export const REPO = resolve(import.meta.dirname, '../..')
export const TSC = join(REPO, 'node_modules/typescript/bin/tsc')

export interface Packed { tarball: string, files: string[], dir: string, cleanup: () => void }

/** What a clone of the repository holds: its files (tracked and new, not ignored), never dist/. */
function clone (into: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' })
  for (const file of listed.split('\0')) {
    // A tracked file deleted in the working tree is not part of it.
    if (file === '' || !existsSync(join(REPO, file))) continue
    mkdirSync(dirname(join(into, file)), { recursive: true })
    copyFileSync(join(REPO, file), join(into, file))
  }
  symlinkSync(join(REPO, 'node_modules'), join(into, 'node_modules'))
}

/** Packs a fresh clone, lifecycle scripts run (its `prepack` builds dist/); `files` lists the tarball's paths. */
export function pack (): Packed {
  const dir = mkdtempSync(join(tmpdir(), 'fastify-views-pack-'))
  const source = join(dir, 'clone')
  clone(source)
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: source, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  // The prepack build's own output comes first on stdout: the JSON report is the array from its `[` line on.
  const [info] = JSON.parse(out.slice(out.search(/^\[$/m))) as Array<{ filename: string, files: Array<{ path: string }> }>
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
