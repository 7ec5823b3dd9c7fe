/**
 * Shared by the example tests: start an example in this process on a (given or free) loopback port, bounded
 * waits, and child processes (the examples' scripts as a person runs them).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { TestContext } from '../helpers/app.js'
import { SSEClient, type ReceivedEvent, type SSEClientOptions } from '../helpers/sse-client.js'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Running { app: FastifyInstance, base: string, port: number }

/** Builds and listens on 127.0.0.1 (port 0: a free one; a fixed port to restart "the same" instance). */
export async function start<O> (build: (options: O) => Promise<FastifyInstance>, options: O, port = 0): Promise<Running> {
  const app = await build(options)
  await app.listen({ host: '127.0.0.1', port })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { app, base: `http://127.0.0.1:${address.port}`, port: address.port }
}

/** Rejects with `what` when `promise` takes longer than `ms`: a failing test names what it waited for. */
export function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** `[type, data]` of events, data parsed: what a test compares. */
export const summary = (events: ReceivedEvent[]): Array<[string, unknown]> => events.map((event) => [event.type, JSON.parse(event.data)])

/** The first `count` events of a client, within `ms`, as `[type, data]`. */
export async function firstEvents (client: SSEClient, count: number, ms = 10_000): Promise<Array<[string, unknown]>> {
  return summary(await within(client.waitFor(count), ms, `${count} events (got ${JSON.stringify(summary(client.events))})`))
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A port free on 127.0.0.1 right now (and, with `next`, the one after it too). */
export async function freePort (next = false): Promise<number> {
  const bind = (port: number) => new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const bound = (server.address() as { port: number }).port
      server.close(() => resolve(bound))
    })
  })
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bind(0)
    if (!next || (port < 65535 && await bind(port + 1).then(() => true, () => false))) return port
  }
  throw new Error('no free port')
}

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

export async function until (check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(50)
  }
}

/** True when `port` can be bound on 127.0.0.1 right now. */
export async function isFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** A real EventSource client closed in teardown. */
export function sseClient (t: TestContext, url: string, options: SSEClientOptions): SSEClient {
  const sse = new SSEClient(url, options)
  t.teardown(() => sse.close())
  return sse
}
