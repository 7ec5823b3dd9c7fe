/** Child processes as a person runs them from the repository root: a command to its end, or a long-running job. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TestContext } from './context.js'
import { until } from './wait.js'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Runs a command to its end: exit code and output. */
export function run (command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

export interface Background {
  child: ChildProcess
  output: () => string
  /** The direct child's exit code (npm's, for `npm run ...`). */
  exited: Promise<number | null>
  /** Signals the whole process group, as a terminal's Ctrl-C (SIGINT) or a container stop (SIGTERM) does. */
  interrupt: (signal?: NodeJS.Signals) => void
  /** Resolves once no process of the group is left; rejects after `ms`. */
  gone: (ms?: number) => Promise<void>
}

/**
 * Starts a long-running command in a process group of its own, like a terminal job: `npm run` starts
 * `sh -c`, which starts tsx, which starts node, and only a signal to the group reaches them all. Teardown
 * stops the group if the test did not. `env` entries set to undefined are removed from the environment.
 */
export function background (t: TestContext, command: string, args: string[], env: Record<string, string | undefined> = {}): Background {
  const merged: Record<string, string | undefined> = { ...process.env, ...env }
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name]
  const child = spawn(command, args, { cwd: ROOT, env: merged, detached: true })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const group = -(child.pid as number)
  const alive = (): boolean => { try { process.kill(group, 0); return true } catch { return false } }
  const interrupt = (signal: NodeJS.Signals = 'SIGINT') => { try { process.kill(group, signal) } catch { /* already gone */ } }
  const gone = (ms = 10_000) => until(() => !alive(), `process group ${-group} (${command} ${args.join(' ')}) to exit`, ms)
  // Should this process end without its teardown (an uncaught error), the group must not outlive it.
  const orphaned = () => interrupt('SIGKILL')
  process.once('exit', orphaned)
  t.teardown(async () => {
    interrupt('SIGTERM')
    await gone().catch(() => interrupt('SIGKILL'))
    process.removeListener('exit', orphaned)
  })
  return { child, output: () => output, exited, interrupt, gone }
}
