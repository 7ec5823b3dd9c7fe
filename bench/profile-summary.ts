/**
 * Self time by function of a V8 CPU profile (`node --cpu-prof`), optionally restricted to a time window, so
 * the profile of a benchmark server says what its fan-out spends its time on - not its startup or its
 * connect phase. `npm run bench -- --profile` passes the fan-out window the load generator measured
 * (CLOCK_MONOTONIC microseconds, the clock of the profile's timestamps, shared by every process).
 *
 *   node --import tsx bench/profile-summary.ts bench/results/profiles/<run>/<server>-<n>/CPU.*.cpuprofile
 *   node --import tsx bench/profile-summary.ts FILE --from 873509654 --to 874509654 --top 30
 */
import { readFileSync } from 'node:fs'
import { dirname, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface Summary {
  /** Milliseconds of samples in the window, idle included. */
  totalMs: number
  /** Milliseconds the process was not idle. */
  busyMs: number
  /** Self time per function (`name file:line`), largest first. */
  functions: Array<{ name: string, ms: number }>
  /** Self time per place: a file of this repository, a package, Node's internals, GC, program. */
  areas: Array<{ name: string, ms: number }>
}

/** Where a function lives, short: `lib/sse/stream.ts`, `fastify`, `node:net`, `(garbage collector)`. */
function area (url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (pkg !== null) return pkg[1]
  if (path.startsWith('node:')) return path.replace(/^node:internal\//, 'node:')
  return path.startsWith(ROOT) ? relative(ROOT, path) : path
}

export function summarize (profile: Profile, window?: { from: number, to: number }): Summary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const functions = new Map<string, number>()
  const areas = new Map<string, number>()
  let t = profile.startTime
  let totalUs = 0
  let idleUs = 0
  const n = profile.samples.length
  for (let i = 0; i < n; i++) {
    t += profile.timeDeltas[i]
    if (window !== undefined && (t < window.from || t > window.to)) continue
    // A sample stands for the time until the next one (the last: the mean interval).
    const us = i + 1 < n ? profile.timeDeltas[i + 1] : (profile.endTime - profile.startTime) / n
    const frame = byId.get(profile.samples[i])!.callFrame
    totalUs += us
    if (frame.functionName === '(idle)') {
      idleUs += us
      continue
    }
    const where = area(frame.url, frame.functionName)
    // (tsx-compiled files report line 1 for everything: their function name is what tells them apart)
    const name = `${frame.functionName || '(anonymous)'} ${where}${frame.url === '' || frame.lineNumber === 0 ? '' : `:${frame.lineNumber + 1}`}`
    functions.set(name, (functions.get(name) ?? 0) + us)
    areas.set(where, (areas.get(where) ?? 0) + us)
  }
  const sorted = (map: Map<string, number>) => [...map].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms)
  return { totalMs: totalUs / 1000, busyMs: (totalUs - idleUs) / 1000, functions: sorted(functions), areas: sorted(areas) }
}

export function readProfile (file: string): Profile {
  return JSON.parse(readFileSync(file, 'utf8')) as Profile
}

/** The summary as two markdown tables: the top functions, then the top areas, as % of busy time. */
export function formatSummary (summary: Summary, top = 20): string {
  const pct = (ms: number): string => `${((ms / Math.max(summary.busyMs, 1e-9)) * 100).toFixed(1)} %`
  const lines = [`busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled`, '', '| self time | function |', '|---:|---|']
  for (const f of summary.functions.slice(0, top)) lines.push(`| ${f.ms.toFixed(1)} ms (${pct(f.ms)}) | \`${f.name}\` |`)
  lines.push('', '| self time | where |', '|---:|---|')
  for (const a of summary.areas.slice(0, Math.ceil(top / 2))) lines.push(`| ${a.ms.toFixed(1)} ms (${pct(a.ms)}) | ${a.name} |`)
  return lines.join('\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string', default: '25' } } })
  if (positionals.length !== 1) {
    process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [--from US --to US] [--top N]\n')
    process.exit(2)
  }
  const window = values.from !== undefined && values.to !== undefined ? { from: Number(values.from), to: Number(values.to) } : undefined
  process.stdout.write(formatSummary(summarize(readProfile(positionals[0]), window), Number(values.top)) + '\n')
}
