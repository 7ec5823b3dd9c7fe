/**
 * Helpers shared by the benchmark servers (bench/servers/*.ts). They keep every server to the same wire
 * protocol so only the library-specific part (how a stream subscribes and how an event is published)
 * differs from file to file. See bench/README.md, "Adding a server".
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The body of one `tick` event, as every server must send it (JSON-encoded as the SSE `data`). */
export interface Tick {
  seq: number
  t: number
  p: string
}

/** Wall-clock milliseconds with a fraction; the load generator subtracts it from its own clock. */
export function now(): number {
  return performance.timeOrigin + performance.now()
}

let seq = 0
const paddingCache = new Map<number, string>()

function padding(bytes: number): string {
  // `{"seq":123,"t":1735000000000.123,"p":""}` is ~40 bytes; pad the rest with 'x' so the JSON is about
  // `bytes` long. Computed once per size: seq/t digit counts only move the total by a few bytes.
  let p = paddingCache.get(bytes)
  if (p === undefined) {
    const overhead = JSON.stringify({ seq: 1000, t: now(), p: '' }).length
    p = 'x'.repeat(Math.max(0, bytes - overhead))
    paddingCache.set(bytes, p)
  }
  return p
}

/**
 * The next event of this process: `seq` increases from 1, `t` is taken now. Call it at the moment the
 * event is published, once per event (not once per client).
 */
export function nextTick(bytes: number): Tick {
  seq += 1
  return { seq, t: now(), p: padding(bytes) }
}

/** The `seq` of the last event created by nextTick (0 before the first). */
export function lastSeq(): number {
  return seq
}

/** The SSE frame node-http writes: `id: <seq>\nevent: tick\ndata: <json>\n\n`. */
export function frameTick(tick: Tick): string {
  return `id: ${tick.seq}\nevent: tick\ndata: ${JSON.stringify(tick)}\n\n`
}

/** Query of `POST /publish?k=K&b=B` (and `/burst?m=M&b=B`), validated and bounded. */
export function publishParams(query: Record<string, unknown> | URLSearchParams): { k: number; b: number; m: number } {
  const get = (name: string): unknown => (query instanceof URLSearchParams ? query.get(name) : query[name])
  const int = (name: string, dflt: number, max: number): number => {
    const raw = get(name)
    const n = raw === undefined || raw === null || raw === '' ? dflt : Number(raw)
    if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`bad ${name}: ${String(raw)}`)
    return n
  }
  return { k: int('k', 1, 1_000_000), b: int('b', 200, 1_000_000), m: int('m', 1000, 100_000_000) }
}

/** The `/stats` body. Runs a full GC first when the process was started with --expose-gc. */
export function stats(connections: number): { connections: number; rss: number; heapUsed: number; cpuMs: number } {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const mem = process.memoryUsage()
  const cpu = process.cpuUsage()
  // cpuMs (user + system CPU time of the process so far) is optional in the protocol: the load generator
  // uses it, when present, to report how busy the server was during the burst.
  return { connections, rss: mem.rss, heapUsed: mem.heapUsed, cpuMs: (cpu.user + cpu.system) / 1000 }
}

/** Listen address from the environment: HOST (default 127.0.0.1) and PORT (default 0 = any free port). */
export function listenOptions(): { host: string; port: number } {
  return { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) }
}

/** Print the `ready <port>` line the runner waits for. */
export function announce(server: Server): void {
  const address = server.address() as AddressInfo
  process.stdout.write(`ready ${address.port}\n`)
}

/** Exit promptly on SIGTERM/SIGINT even with thousands of open streams. */
export function exitOnSignal(): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0))
}
