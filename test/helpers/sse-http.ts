/**
 * Tools for event-stream tests over real sockets: an incremental reader of a streamed response (bytes are
 * checked as they arrive, not only at the end), a raw HTTP/1.1 socket (a client that may stop reading), a
 * log capture, and the app's stream registry.
 */
import { connect, type Socket } from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'

export interface Deferred<T = void> { promise: Promise<T>, resolve: (value: T) => void, reject: (error: unknown) => void }

export function deferred<T = void> (): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** Resolves after `ms`, for "nothing more happens" checks after an ordering was already proven. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The number of open event streams of `app`. */
export function openStreams (app: FastifyInstance): number {
  return (app as any)[Symbol.for('fastify-views.stream-registry')].size
}

/** Accumulates a body as it arrives; `until(text)` resolves once the body so far contains `text`. */
export class BodyReader {
  text = ''
  ended = false
  error: Error | undefined
  /** Called with each decoded piece of the body, in the chunks it arrived in. */
  onText: ((text: string) => void) | undefined
  private waiters: Array<() => void> = []
  readonly done: Promise<void>

  constructor (readonly stream: NodeJS.ReadableStream & { destroy: (error?: Error) => void }) {
    // A decoder, not setEncoding: a character split across two chunks must not be mangled.
    const decoder = new StringDecoder('utf8')
    const done = deferred()
    this.done = done.promise
    stream.on('data', (chunk: Buffer) => {
      const text = decoder.write(chunk)
      this.text += text
      this.onText?.(text)
      this.wake()
    })
    stream.on('end', () => { this.ended = true; this.wake(); done.resolve() })
    stream.on('error', (error: Error) => { this.error = error; this.wake(); done.resolve() })
  }

  /** Resolves with the body so far once it holds `count` occurrences of `needle`; rejects if the body ends first. */
  async until (needle: string, count = 1): Promise<string> {
    while (this.text.split(needle).length - 1 < count) {
      if (this.ended || this.error !== undefined) throw new Error(`body ended before ${count} x ${JSON.stringify(needle)}: ${JSON.stringify(this.text)}`)
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
    return this.text
  }

  /** Resolves with the whole body once it ended. */
  async all (): Promise<string> {
    await this.done
    if (this.error !== undefined) throw this.error
    return this.text
  }

  close (): void { this.stream.destroy() }

  private wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }
}

export interface OpenedStream {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: BodyReader
}

/** GET `path` with undici and hand back the head as soon as it arrives, the body to read incrementally. */
export async function openStream (base: string, path: string, headers: Record<string, string> = {}): Promise<OpenedStream> {
  const response = await request(`${base}${path}`, { method: 'GET', headers })
  return { status: response.statusCode, headers: response.headers, body: new BodyReader(response.body) }
}

/** A raw HTTP/1.1 client socket. Without `read: true` it never reads: the server meets real backpressure. */
export async function rawRequest (base: string, path: string, options: { headers?: Record<string, string>, read?: boolean } = {}): Promise<{ socket: Socket, received: () => string, closed: Promise<void> }> {
  const url = new URL(base)
  const socket = connect({ host: url.hostname, port: Number(url.port) })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  let received = ''
  if (options.read === true) socket.on('data', (chunk) => { received += chunk.toString('utf8') })
  const headers = Object.entries({ host: url.host, ...options.headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  socket.write(`GET ${path} HTTP/1.1\r\n${headers}\r\n`)
  return { socket, received: () => received, closed }
}

export interface LogLine { level: number, msg: string, [key: string]: unknown }

/** A pino destination that keeps every line, for assertions on what the app logged. */
export class LogCapture extends Writable {
  readonly lines: LogLine[] = []
  private waiters: Array<{ match: (line: LogLine) => boolean, resolve: (line: LogLine) => void }> = []

  override _write (chunk: Buffer, _encoding: string, callback: () => void): void {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text === '') continue
      const line = JSON.parse(text) as LogLine
      this.lines.push(line)
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(line)) return true
        waiter.resolve(line)
        return false
      })
    }
    callback()
  }

  /** Resolves with the first line (already written or to come) that matches. */
  waitFor (match: (line: LogLine) => boolean): Promise<LogLine> {
    const found = this.lines.find(match)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve) => this.waiters.push({ match, resolve }))
  }

  matching (match: (line: LogLine) => boolean): LogLine[] {
    return this.lines.filter(match)
  }
}

/** Splits a body into its frames (each ends with a blank line), keeping the terminators. */
export function frames (text: string): string[] {
  return text.split(/(?<=\n\n)/).filter((frame) => frame !== '')
}
