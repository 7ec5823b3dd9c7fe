#!/usr/bin/env node
// The one test command: typecheck, the floors (dependency-cruiser), lint, the tap suite, the type-level tests.
// Every phase runs even when an earlier one fails, so one run shows everything that is wrong;
// the last line is the plain summary `N passed, N failed` (tap assertions plus one per other phase).
import { spawnSync } from 'node:child_process'

const phases = [
  { name: 'typecheck', cmd: ['npx', 'tsc', '-p', 'tsconfig.json', '--noEmit'] },
  // The floors of lib/ (.dependency-cruiser.cjs): no import loops, no import from a lower floor to a higher one.
  { name: 'depcruise', cmd: ['npx', 'depcruise', 'lib', '--config', '.dependency-cruiser.cjs'] },
  { name: 'lint', cmd: ['npx', 'eslint', '--max-warnings', '0', '--no-error-on-unmatched-pattern', 'lib', 'test', 'examples', 'bench', 'scripts'] },
  { name: 'tap', cmd: ['npx', 'tap', ...process.argv.slice(2)], tap: true },
  { name: 'types', cmd: ['npx', 'tsc', '-p', 'test/types/tsconfig.json', '--noEmit'] }
]

let passed = 0
let failed = 0
const failures = []
for (const phase of phases) {
  process.stdout.write(`\n=== ${phase.name}: ${phase.cmd.join(' ')}\n`)
  const started = Date.now()
  const run = spawnSync(phase.cmd[0], phase.cmd.slice(1), {
    stdio: phase.tap ? ['inherit', 'pipe', 'inherit'] : 'inherit',
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (phase.tap) {
    process.stdout.write(run.stdout ?? '')
    // tap's closing comment: "# { total: 12, pass: 11, fail: 1 }"
    const summary = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(run.stdout ?? '')
    const pass = summary ? Number(summary[2] ?? 0) : 0
    const fail = summary ? Number(summary[3] ?? 0) : 0
    passed += pass
    failed += fail
    if (run.status !== 0 && fail === 0) { failed += 1; failures.push(`${phase.name} (exit ${run.status})`) }
    if (fail > 0) failures.push(`${phase.name} (${fail} failed assertions)`)
  } else if (run.status === 0) {
    passed += 1
  } else {
    failed += 1
    failures.push(`${phase.name} (exit ${run.status})`)
  }
  process.stdout.write(`=== ${phase.name} done in ${seconds}s, exit ${run.status}\n`)
}
if (failures.length > 0) process.stdout.write(`\nFailed: ${failures.join(', ')}\n`)
process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
process.exit(failed === 0 ? 0 : 1)
