/**
 * A fault-injecting TCP proxy for tests, between the library and a redis-server: what `kill -9` does
 * for the process, this does for the network. Every fault can be switched at run time, for every
 * connection or for one role, and for one direction or both:
 *
 *   const proxy = await startFaultProxy(redis.port, t)    // the library connects to proxy.url
 *   proxy.delay(300, { role: 'publisher', direction: 'down' })  // replies to the publisher arrive late
 *   proxy.stall({ role: 'subscriber' })   // stop forwarding, keep the connection open (bytes queue up)
 *   proxy.drop({ role: 'subscriber', direction: 'down' })  // black-hole bytes, connection stays open
 *   proxy.cut({ role: 'subscriber' })     // destroy the connections now (the client reconnects)
 *   await proxy.refuse()                  // new connections are refused (the port stops listening)
 *   proxy.resume()                        // no faults any more: queued bytes flow again, in order
 *
 * Roles come from the traffic: the library names its connections (ioredis `connectionName`, sent as
 * `CLIENT SETNAME fastify-views:<role>` before any other command), and the proxy reads that name from
 * the first bytes a client sends. A connection counts as role `''` until it has named itself.
 * A fault for a role holds for its connections now and for the ones it opens later, until resumed.
 * 'up' is client -> Redis (commands), 'down' is Redis -> client (replies and pub/sub messages).
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { Teardown } from './redis-server.js'

export type Direction = 'up' | 'down' | 'both'
export interface FaultTarget {
  /** `publisher`, `subscriber` (the part after `fastify-views:`), or any other connection name. */
  role?: string
  direction?: Direction
}

type Mode = 'flow' | 'stall' | 'drop'
interface Rule { mode: Mode, delayMs: number }

const FLOWING: Rule = { mode: 'flow', delayMs: 0 }
const SETNAME = /setname\r\n\$\d+\r\n([^\r]*)\r\n/i
const NAME_PREFIX = 'fastify-views:'

/** One direction of one connection: chunks wait here for their time, for a stall to end, or are dropped. */
class Pipe {
  private readonly queue: Array<{ chunk: Buffer, at: number }> = []
  private timer: NodeJS.Timeout | undefined
  bytes = 0

  constructor (private readonly to: Socket, private readonly rule: () => Rule) {}

  push (chunk: Buffer): void {
    const rule = this.rule()
    if (rule.mode === 'drop') return
    this.queue.push({ chunk, at: Date.now() + rule.delayMs })
    this.pump()
  }

  /** Writes every chunk whose time has come, in arrival order; a stalled pipe writes nothing. */
  pump (): void {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined }
    const rule = this.rule()
    if (rule.mode === 'drop') this.queue.length = 0
    if (rule.mode !== 'flow') return
    const now = Date.now()
    while (this.queue.length > 0 && this.queue[0].at <= now) {
      const { chunk } = this.queue.shift() as { chunk: Buffer }
      this.bytes += chunk.length
      if (!this.to.destroyed) this.to.write(chunk)
    }
    if (this.queue.length > 0) this.timer = setTimeout(() => this.pump(), this.queue[0].at - now)
  }

  stop (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.queue.length = 0
  }
}

export interface ProxiedConnection {
  readonly id: number
  /** The name the client gave itself ('' until it did). */
  readonly role: string
  /** Bytes forwarded so far, per direction. */
  readonly forwarded: { up: number, down: number }
}

class Connection implements ProxiedConnection {
  role = ''
  private sniffed = ''
  readonly up: Pipe
  readonly down: Pipe

  constructor (readonly id: number, readonly client: Socket, readonly server: Socket, rules: (role: string, direction: 'up' | 'down') => Rule, private readonly onRole: () => void) {
    this.up = new Pipe(server, () => rules(this.role, 'up'))
    this.down = new Pipe(client, () => rules(this.role, 'down'))
    client.on('data', (chunk: Buffer) => {
      if (this.role === '' && this.sniffed.length < 4096) this.learnRole(chunk)
      this.up.push(chunk)
    })
    server.on('data', (chunk: Buffer) => this.down.push(chunk))
  }

  get forwarded (): { up: number, down: number } { return { up: this.up.bytes, down: this.down.bytes } }

  private learnRole (chunk: Buffer): void {
    this.sniffed += chunk.toString('latin1')
    const name = SETNAME.exec(this.sniffed)?.[1]
    if (name === undefined) return
    this.role = name.startsWith(NAME_PREFIX) ? name.slice(NAME_PREFIX.length) : name
    this.onRole()
  }

  pump (): void { this.up.pump(); this.down.pump() }

  destroy (): void {
    this.up.stop()
    this.down.stop()
    this.client.destroy()
    this.server.destroy()
  }
}

export interface FaultProxy {
  port: number
  /** `redis://127.0.0.1:P` of the proxy. */
  url: string
  delay: (ms: number, target?: FaultTarget) => void
  stall: (target?: FaultTarget) => void
  drop: (target?: FaultTarget) => void
  /** Destroys the matching open connections now; new ones are accepted (unless refused). */
  cut: (target?: { role?: string }) => number
  /** New connections are refused: the port stops listening (`false`: it listens again, same port). */
  refuse: (on?: boolean) => Promise<void>
  /** Clears the faults of the target (everything by default): queued bytes flow again. */
  resume: (target?: FaultTarget) => void
  /** Open connections (with the role each gave itself). */
  connections: (role?: string) => ProxiedConnection[]
  /** Every connection accepted so far, open or closed. */
  opened: (role?: string) => ProxiedConnection[]
  close: () => Promise<void>
}

/** Starts a proxy on a free loopback port in front of 127.0.0.1:`targetPort`. */
export async function startFaultProxy (targetPort: number, t?: Teardown): Promise<FaultProxy> {
  // rules.get(role)?.[direction], the role '*' for every connection; a role's own rule wins.
  const rules = new Map<string, { up?: Rule, down?: Rule }>()
  const open = new Set<Connection>()
  const all: Connection[] = []
  let refusing = false
  let nextId = 1

  const ruleFor = (role: string, direction: 'up' | 'down'): Rule =>
    (role !== '' ? rules.get(role)?.[direction] : undefined) ?? rules.get('*')?.[direction] ?? FLOWING

  const pumpAll = (): void => { for (const connection of open) connection.pump() }

  const set = (target: FaultTarget, rule: Rule | undefined): void => {
    const key = target.role ?? '*'
    const entry = rules.get(key) ?? {}
    const direction = target.direction ?? 'both'
    if (direction !== 'down') entry.up = rule
    if (direction !== 'up') entry.down = rule
    rules.set(key, entry)
    pumpAll()
  }

  const server: Server = createServer((client) => {
    client.setNoDelay(true)
    const upstream = connect({ port: targetPort, host: '127.0.0.1' })
    upstream.setNoDelay(true)
    const connection = new Connection(nextId++, client, upstream, ruleFor, () => connection.pump())
    open.add(connection)
    all.push(connection)
    const end = (): void => { open.delete(connection); connection.destroy() }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0

  const proxy: FaultProxy = {
    port,
    url: `redis://127.0.0.1:${port}`,
    delay: (ms, target = {}) => set(target, { mode: 'flow', delayMs: ms }),
    stall: (target = {}) => set(target, { mode: 'stall', delayMs: 0 }),
    drop: (target = {}) => set(target, { mode: 'drop', delayMs: 0 }),
    cut: (target = {}) => {
      let count = 0
      for (const connection of [...open]) {
        if (target.role === undefined || connection.role === target.role) { connection.destroy(); open.delete(connection); count++ }
      }
      return count
    },
    refuse: async (on = true) => {
      if (on === refusing) return
      refusing = on
      // A closed listener makes the port refuse (ECONNREFUSED), as a host whose Redis is down does;
      // accepting and closing at once would look like a connection that broke after it was made.
      if (on) server.close()
      else await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen({ port, host: '127.0.0.1' }, () => { server.off('error', reject); resolve() }) })
    },
    resume: (target) => {
      if (target === undefined) { rules.clear(); pumpAll() } else set(target, undefined)
    },
    connections: (role) => [...open].filter((connection) => role === undefined || connection.role === role),
    opened: (role) => all.filter((connection) => role === undefined || connection.role === role),
    close: async () => {
      for (const connection of open) connection.destroy()
      open.clear()
      if (!refusing) await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  t?.teardown(() => proxy.close())
  return proxy
}
