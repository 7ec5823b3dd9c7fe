/**
 * Shared tools of the stream tests (bursts, slow readers, limits): an app as users build it, with the
 * built-in subscription endpoint at /events and any views of the test, listening on loopback; and a raw
 * reader that pauses and resumes.
 */
import { connect, type Socket } from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import type { FastifyInstance } from 'fastify'
import { createApp, SubscriptionView, ViewRouter, type CreateAppOptions, type SubscriptionViewOptions, type ViewClass } from '../../lib/index.js'
import { parseFrames, type Frame } from '../delivery/support.js'

export interface TestContext { teardown: (fn: () => unknown) => void }

export interface StreamAppOptions {
  redisUrl?: string
  /** Options of the SubscriptionView at /events. */
  subscription?: SubscriptionViewOptions
  /** More views, by prefix. */
  views?: Record<string, ViewClass>
  app?: Partial<CreateAppOptions>
}

export async function startApp (t: TestContext, options: StreamAppOptions = {}): Promise<{ app: FastifyInstance, base: string }> {
  const app = await createApp({
    env: {},
    fastify: { logger: false },
    drainMs: 0,
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    ...options.app
  })
  t.teardown(() => app.close())
  const router = new ViewRouter().registerView(SubscriptionView(options.subscription ?? {}), { prefix: '/events' })
  for (const [prefix, view] of Object.entries(options.views ?? {})) router.registerView(view, { prefix })
  await app.register(router.plugin)
  await app.listen({ port: 0, host: '127.0.0.1', backlog: 2048 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { app, base: `http://127.0.0.1:${address.port}` }
}

// ------------------------------------------------------------------ raw readers

/**
 * An HTTP/1.1 event-stream response decoded as it arrives, on a raw TCP socket the test pauses and resumes
 * (`socket.pause()` stops reading: the kernel buffers fill and the server meets real backpressure). The
 * chunked body is decoded incrementally, so checking a long stream often costs nothing.
 */
export class RawStreamReader {
  readonly socket: Socket
  status = 0
  head = ''
  readonly frames: Frame[] = []
  closed = false
  readonly done: Promise<void>
  private pending: Buffer = Buffer.alloc(0)
  private inHead = true
  /** Bytes left of the current chunk; -1: a size line is next; -2: the CRLF after a chunk is next. */
  private chunkLeft = -1
  private text = ''
  private readonly decoder = new StringDecoder('utf8')

  private constructor (socket: Socket) {
    this.socket = socket
    this.done = new Promise((resolve) => socket.once('close', () => { this.closed = true; resolve() }))
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
  }

  static async open (base: string, path: string, headers: Record<string, string> = {}): Promise<RawStreamReader> {
    const url = new URL(base)
    const socket = connect({ host: url.hostname, port: Number(url.port) })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const reader = new RawStreamReader(socket)
    const lines = Object.entries({ host: url.host, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    socket.write(`GET ${path} HTTP/1.1\r\n${lines}\r\n`)
    return reader
  }

  /** Events other than `subscribed` / `reset`. */
  get published (): Frame[] { return this.frames.filter((frame) => frame.event !== 'subscribed' && frame.event !== 'reset') }

  /** The id of the last complete frame that carried one: the client's Last-Event-ID. */
  get lastId (): string | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i].id !== undefined) return this.frames[i].id
    return undefined
  }

  pause (): void { this.socket.pause() }
  resume (): void { this.socket.resume() }
  close (): void { this.socket.destroy() }

  private receive (chunk: Buffer): void {
    let data: Buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    this.pending = Buffer.alloc(0)
    if (this.inHead) {
      const end = data.indexOf('\r\n\r\n')
      if (end < 0) { this.pending = data; return }
      this.head = data.subarray(0, end).toString('latin1')
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.head)?.[1])
      this.inHead = false
      data = data.subarray(end + 4)
    }
    let at = 0
    while (at < data.length) {
      if (this.chunkLeft === -2) {
        if (data.length - at < 2) break
        at += 2
        this.chunkLeft = -1
      } else if (this.chunkLeft === -1) {
        const lineEnd = data.indexOf('\r\n', at)
        if (lineEnd < 0) break
        this.chunkLeft = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
        at = lineEnd + 2
        if (this.chunkLeft === 0) return // the last chunk
      } else {
        const take = Math.min(this.chunkLeft, data.length - at)
        this.text += this.decoder.write(data.subarray(at, at + take))
        at += take
        this.chunkLeft -= take
        if (this.chunkLeft === 0) this.chunkLeft = -2
      }
    }
    if (at < data.length) this.pending = Buffer.from(data.subarray(at))
    const { frames, rest } = parseFrames(this.text)
    this.text = rest
    for (const frame of frames) this.frames.push(frame)
  }
}
