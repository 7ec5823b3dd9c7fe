#!/usr/bin/env node
// The one test command: typecheck, the floors (dependency-cruiser), lint, the tap suite, the type-level tests.
// Every phase runs even when an earlier one fails, so one run shows everything that is wrong;
// the last line is the plain summary `N passed, N failed` (tap assertions plus one per other phase).
//
// The tap suite starts first and the other phases run beside it, one after another, at a lower CPU priority:
// most test files wait on sockets, timers and child processes, and the checks take the CPU they leave idle
// (one after another, the phases took 13-14 minutes on two cores). A phase's output is printed whole when it
// ends, under its own `===` header, so the log still reads phase by phase; the summary is the last line.
import { spawn, spawnSync } from 'node:child_process'
import { setPriority } from 'node:os'

const checks = [
  { name: 'typecheck', cmd: ['npx', 'tsc', '-p', 'tsconfig.json', '--noEmit'] },
  // The floors of lib/ (.dependency-cruiser.cjs): no import loops, no import from a lower floor to a higher one.
  { name: 'depcruise', cmd: ['npx', 'depcruise', 'lib', '--config', '.dependency-cruiser.cjs'] },
  { name: 'lint', cmd: ['npx', 'eslint', '--max-warnings', '0', '--no-error-on-unmatched-pattern', 'lib', 'test', 'examples', 'bench', 'scripts'] },
  { name: 'types', cmd: ['npx', 'tsc', '-p', 'test/types/tsconfig.json', '--noEmit'] }
]
const tapPhase = { name: 'tap', cmd: ['npx', 'tap', ...process.argv.slice(2)], tap: true }

let passed = 0
let failed = 0
const failures = []

/**
 * tap builds its Test class from the plugins .taprc names (`!@tapjs/typescript`: tsx loads the TypeScript).
 * A fresh `npm ci` installs the build with every default plugin; `tap` notices and rebuilds, but only after
 * it has taken the test processes' loaders from the old build, so every test file of that run loaded
 * tap's ts-node loader beside tsx (tapjs/tapjs#974). Rebuilding first, when the build differs, makes every
 * run load one TypeScript loader.
 */
function tapBuildNeeded () {
  const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { TapConfig } from '@tapjs/config'
    import { signature } from '@tapjs/test'
    const config = await TapConfig.load()
    process.stdout.write(signature === config.pluginSignature ? 'built' : 'stale')
  `], { encoding: 'utf8' })
  return probe.stdout !== 'built'
}

/** Runs one phase; resolves with its exit status and output (stdout and stderr as they came, for a check). */
function run (phase, { background }) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(phase.cmd[0], phase.cmd.slice(1), { stdio: ['ignore', 'pipe', phase.tap ? 'inherit' : 'pipe'] })
    if (background) {
      // Below the test files: a check waits for CPU, a test does not (its timeouts stay as they are).
      try { setPriority(child.pid, 10) } catch { /* not permitted here: it runs at the usual priority */ }
    }
    const output = []
    child.stdout.on('data', (chunk) => output.push(chunk))
    child.stderr?.on('data', (chunk) => output.push(chunk))
    child.on('error', (error) => output.push(Buffer.from(`${error.message}\n`)))
    child.on('close', (status, signal) => {
      resolve({ phase, status: status ?? signal, output: Buffer.concat(output).toString('utf8'), seconds: ((Date.now() - started) / 1000).toFixed(1) })
    })
  })
}

function report ({ phase, status, output, seconds }) {
  process.stdout.write(`\n=== ${phase.name}: ${phase.cmd.join(' ')}\n`)
  process.stdout.write(output)
  if (phase.tap) {
    // tap's closing comment: "# { total: 12, pass: 11, fail: 1 }"
    const summary = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(output)
    const pass = summary ? Number(summary[2] ?? 0) : 0
    const fail = summary ? Number(summary[3] ?? 0) : 0
    passed += pass
    failed += fail
    if (status !== 0 && fail === 0) { failed += 1; failures.push(`${phase.name} (exit ${status})`) }
    if (fail > 0) failures.push(`${phase.name} (${fail} failed assertions)`)
  } else if (status === 0) {
    // The tap rebuild is a step of the tap phase, not a check: it counts only when it fails.
    if (!phase.step) passed += 1
  } else {
    failed += 1
    failures.push(`${phase.name} (exit ${status})`)
  }
  process.stdout.write(`=== ${phase.name} done in ${seconds}s, exit ${status}\n`)
}

const started = Date.now()
const suite = (async () => {
  if (tapBuildNeeded()) {
    const build = await run({ name: 'tap build', cmd: ['npx', 'tap', 'build'], step: true }, { background: false })
    report(build)
  }
  return await run(tapPhase, { background: false })
})()
for (const check of checks) report(await run(check, { background: true }))
report(await suite)

if (failures.length > 0) process.stdout.write(`\nFailed: ${failures.join(', ')}\n`)
process.stdout.write(`\nall phases in ${((Date.now() - started) / 1000).toFixed(1)}s\n`)
process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
process.exit(failed === 0 ? 0 : 1)
