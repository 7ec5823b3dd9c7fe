/**
 * Under `experimentalDecorators: true` each decorator fails with an error that names the fix (issue 12),
 * not with TS1241 "Unable to resolve signature of method decorator".
 */
import { spawnSync } from 'node:child_process'
import t from 'tap'

t.test('experimentalDecorators: one readable error per decorator', async (t) => {
  const run = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'test/types/experimental-decorators/tsconfig.json'], { encoding: 'utf8', timeout: 120_000 })
  const errors = run.stdout.split('\n').filter((line) => line.includes('error TS'))
  t.equal(run.status, 2)
  t.same(errors.map((line) => /\((\d+),\d+\): error (TS\d+)/.exec(line)?.slice(1)), [['11', 'TS1270'], ['14', 'TS1270'], ['17', 'TS1270']], run.stdout)
  t.ok(errors.every((line) => line.includes("'StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig'")), run.stdout)
})
