/**
 * Shared tools of the delivery tests: app instances with the built-in subscription endpoint and a
 * publishing endpoint, stream readers that parse every frame, a ledger of what was published, and the
 * exact comparison of what each client received with what it should have received.
 */
import type { Socket } from 'node:net'
import { EventSource } from 'eventsource'
import type { FastifyInstance } from 'fastify'
import { Agent, request } from 'undici'
import { createApp, publishEvent, SubscriptionView, ViewRouter, type CreateAppOptions, type SubscriptionViewOptions } from '../../lib/index.js'

export interface TestContext { teardown: (fn: () => unknown) => void }

/** Polls `check` (every `everyMs`) until it holds; throws with `what` after `limitMs`. */
export async function until (check: () => boolean | Promise<boolean>, what: string | (() => string), limitMs = 10_000, everyMs = 2): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`timed out after ${limitMs} ms waiting until ${typeof what === 'function' ? what() : what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// ------------------------------------------------------------------ instances

export interface Instance {
  app: FastifyInstance
  base: string
  /** Server-side sockets of subscription requests, by their `x-client` header. */
  sockets: Map<string, Socket>
}

export interface InstanceOptions {
  redisUrl?: string
  view?: SubscriptionViewOptions
  app?: Partial<CreateAppOptions>
}

/**
 * An app as users build it: createApp, SubscriptionView at /events (?topic=a,b), and
 * POST /publish/:topic, a handler wrapped in @publishEvent that publishes its body as event `note`.
 */
export async function startInstance (t: TestContext, options: InstanceOptions = {}): Promise<Instance> {
  const app = await createApp({
    env: {},
    fastify: { logger: false },
    drainMs: 0,
    historySize: 10_000,
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    ...options.app
  })
  t.teardown(() => app.close())
  const sockets = new Map<string, Socket>()
  app.addHook('onRequest', async (request) => {
    const name = request.headers['x-client']
    if (typeof name === 'string') sockets.set(name, request.raw.socket)
  })
  await app.register(new ViewRouter().registerView(SubscriptionView(options.view ?? {}), { prefix: '/events' }).plugin)
  app.post('/publish/:topic', publishEvent({ topic: ({ params }) => params.topic, event: 'note' })(async (request) => request.body))
  // A backlog for 1,000 connections arriving at once (Node's default, 511, drops SYNs: 1 s retries).
  await app.listen({ port: 0, host: '127.0.0.1', backlog: 2048 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { app, base: `http://127.0.0.1:${address.port}`, sockets }
}

// ------------------------------------------------------------------ frames

export interface Frame {
  id?: string
  event: string
  data: string
}

/** The complete frames of an event-stream text (LF line ends, as the server writes them), and the rest. */
export function parseFrames (text: string): { frames: Frame[], rest: string } {
  const frames: Frame[] = []
  let start = 0
  while (true) {
    const end = text.indexOf('\n\n', start)
    if (end < 0) break
    const block = text.slice(start, end)
    start = end + 2
    let id: string | undefined
    let event = 'message'
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1)
      if (field === 'id') id = value
      else if (field === 'event') event = value
      else if (field === 'data') data.push(value)
    }
    // A frame without data dispatches nothing (the opening comment, heartbeats, `retry:`).
    if (data.length > 0) frames.push({ ...(id === undefined ? {} : { id }), event, data: data.join('\n') })
  }
  return { frames, rest: text.slice(start) }
}

/** Reads an HTTP/1.1 response received on a raw socket: head, then the chunked body as far as it got. */
export function parseRawResponse (bytes: Buffer): { status: number, head: string, body: string } {
  const headEnd = bytes.indexOf('\r\n\r\n')
  if (headEnd < 0) throw new Error(`no complete response head in ${bytes.length} bytes`)
  const head = bytes.subarray(0, headEnd).toString('latin1')
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
  if (!/\r\ntransfer-encoding: chunked/i.test(head)) throw new Error(`expected a chunked body: ${head}`)
  const parts: Buffer[] = []
  let at = headEnd + 4
  while (at < bytes.length) {
    const lineEnd = bytes.indexOf('\r\n', at)
    if (lineEnd < 0) break
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16)
    if (size === 0) break
    const dataStart = lineEnd + 2
    // The last chunk may have arrived in part.
    parts.push(bytes.subarray(dataStart, Math.min(dataStart + size, bytes.length)))
    at = dataStart + size + 2
  }
  return { status, head, body: Buffer.concat(parts).toString('utf8') }
}

// ------------------------------------------------------------------ stream readers

export const dispatcher = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 1000, connectTimeout: 10_000 })

/** One subscription request read by undici; every frame is parsed as it arrives. */
export class StreamReader {
  status = 0
  headers: Record<string, string | string[] | undefined> = {}
  readonly frames: Frame[] = []
  ended = false
  error: Error | undefined
  /** How many published events (not `subscribed` / `reset`) arrived. */
  publishedCount = 0
  private text = ''
  private body: { destroy: () => void } | undefined
  private waiters: Array<() => void> = []

  static async open (base: string, path: string, headers: Record<string, string> = {}): Promise<StreamReader> {
    const reader = new StreamReader()
    const response = await request(`${base}${path}`, { method: 'GET', headers, dispatcher })
    reader.status = response.statusCode
    reader.headers = response.headers
    reader.body = response.body
    response.body.setEncoding('utf8')
    response.body.on('data', (chunk: string) => {
      reader.text += chunk
      const { frames, rest } = parseFrames(reader.text)
      reader.text = rest
      for (const frame of frames) {
        reader.frames.push(frame)
        if (frame.event !== 'subscribed' && frame.event !== 'reset') reader.publishedCount++
      }
      if (frames.length > 0) reader.wake()
    })
    response.body.on('end', () => { reader.ended = true; reader.wake() })
    response.body.on('error', (error: Error) => { reader.error = error; reader.wake() })
    return reader
  }

  private wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Published events only (no `subscribed` / `reset`). */
  get published (): Frame[] { return this.frames.filter((frame) => frame.event !== 'subscribed' && frame.event !== 'reset') }

  /** The id of the last frame that carried one: the client's Last-Event-ID. */
  get lastId (): string | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i].id !== undefined) return this.frames[i].id
    return undefined
  }

  /** The body text so far (complete frames are parsed, the rest is kept here). */
  get pending (): string { return this.text }

  /** Resolves once `count` published events arrived; throws if the stream ends first or after `limitMs`. */
  async waitForPublished (count: number, what = 'events', limitMs = 10_000): Promise<void> {
    const deadline = Date.now() + limitMs
    while (this.publishedCount < count && !this.ended && this.error === undefined) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${limitMs} ms waiting until ${count} ${what} arrived (have ${this.publishedCount})`)
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left)
        this.waiters.push(resolve)
      })
      clearTimeout(timer)
    }
    if (this.publishedCount < count) throw new Error(`the stream ended after ${this.publishedCount} of ${count} ${what} (${this.error?.message ?? 'clean end'})`)
  }

  close (): void { this.body?.destroy() }
}

/** A subscription through a real EventSource whose (re)connections can be held and sent to another instance. */
export class ResumingEventSource {
  readonly source: EventSource
  readonly events: Array<{ type: string, data: string, lastEventId: string }> = []
  /** Every connection attempt: the instance it went to and the Last-Event-ID it sent. */
  readonly connections: Array<{ base: string, lastEventId: string | undefined }> = []
  opens = 0
  errors = 0
  /** Where the next (re)connection goes: change it to emulate a load balancer moving the client. */
  base: string
  private gate: Promise<void> | undefined

  constructor (base: string, path: string, readonly name: string, headers: Record<string, string> = {}) {
    this.base = base
    this.source = new EventSource(`${base}${path}`, {
      fetch: async (input, init) => {
        await this.gate
        const url = new URL(String(input))
        const target = new URL(this.base)
        url.host = target.host
        const sent: Record<string, string> = { ...(init?.headers as Record<string, string>), ...headers, 'x-client': name }
        this.connections.push({ base: this.base, lastEventId: sent['Last-Event-ID'] })
        return fetch(url, { ...init, headers: sent })
      }
    })
    this.source.addEventListener('open', () => { this.opens++ })
    this.source.addEventListener('error', () => { this.errors++ })
    for (const type of ['note', 'subscribed', 'reset']) {
      this.source.addEventListener(type, (event: MessageEvent) => {
        this.events.push({ type, data: event.data, lastEventId: event.lastEventId })
      })
    }
  }

  /** Holds every (re)connection until the returned function is called. */
  hold (): () => void {
    let release!: () => void
    this.gate = new Promise<void>((resolve) => { release = resolve })
    return () => { this.gate = undefined; release() }
  }

  get notes (): Array<{ type: string, data: string, lastEventId: string }> { return this.events.filter((event) => event.type === 'note') }

  close (): void { this.source.close() }
}

// ------------------------------------------------------------------ what was published

export interface Note { topic: string, n: number }

export interface Attempt extends Note {
  ok: boolean
  epoch?: string
  offset?: number
  error?: string
}

/** Every publish attempt of a test, in order: `n` is the attempt's global sequence number. */
export class Ledger {
  readonly attempts: Attempt[] = []

  get succeeded (): Attempt[] { return this.attempts.filter((attempt) => attempt.ok) }
  get failed (): Attempt[] { return this.attempts.filter((attempt) => !attempt.ok) }

  /** Publishes `{ topic, n }` as event `note` through `publish`, recording the outcome (never throws). */
  async publish (topic: string, publish: (topic: string, note: Note) => Promise<{ epoch: string, offset: number } | undefined>): Promise<Attempt> {
    const attempt: Attempt = { topic, n: this.attempts.length + 1, ok: false }
    this.attempts.push(attempt)
    try {
      const result = await publish(topic, { topic, n: attempt.n })
      attempt.ok = true
      if (result !== undefined) { attempt.epoch = result.epoch; attempt.offset = result.offset }
    } catch (error) {
      attempt.error = (error as Error).message
    }
    return attempt
  }

  /** The notes of `topics` that were published successfully, in publish order. */
  expected (topics: readonly string[]): Note[] {
    return this.succeeded.filter((attempt) => topics.includes(attempt.topic)).map(({ topic, n }) => ({ topic, n }))
  }
}

/** The notes a reader received, in arrival order. */
export function notesOf (frames: ReadonlyArray<{ event?: string, type?: string, data: string }>): Note[] {
  return frames.filter((frame) => (frame.event ?? frame.type) === 'note').map((frame) => {
    const { topic, n } = JSON.parse(frame.data) as Note
    return { topic, n }
  })
}

/** Control and published events as compact strings, for exact sequence comparisons. */
export function describe (frames: ReadonlyArray<{ event?: string, type?: string, data: string }>): string[] {
  return frames.map((frame) => {
    const type = frame.event ?? frame.type
    if (type === 'note') {
      const { topic, n } = JSON.parse(frame.data) as Note
      return `${topic}#${n}`
    }
    return `${type} ${frame.data}`
  })
}

export function noteKeys (notes: readonly Note[]): string[] {
  return notes.map((note) => `${note.topic}#${note.n}`)
}

/** Publishes through the app's broker, as a publishing instance's code does. */
export function viaBroker (instance: Instance) {
  return (topic: string, note: Note) => instance.app.broker.publish(topic, 'note', note)
}

/** Publishes through POST /publish/:topic (a handler wrapped in publishEvent). */
export function viaHttp (instance: Instance) {
  return async (topic: string, note: Note): Promise<undefined> => {
    const response = await request(`${instance.base}/publish/${encodeURIComponent(topic)}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(note), dispatcher
    })
    const text = await response.body.text()
    if (response.statusCode !== 200) throw new Error(`POST /publish/${topic}: ${response.statusCode} ${text}`)
    return undefined
  }
}

/** The subscription path for topics. */
export function eventsPath (topics: readonly string[], query = ''): string {
  return `/events?topic=${topics.map(encodeURIComponent).join(',')}${query}`
}
