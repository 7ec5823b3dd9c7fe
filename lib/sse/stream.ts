/**
 * The connection side of one Server-Sent-Events response.
 *
 * An EventStream is a Readable handed to `reply.send()`, so Fastify's lifecycle holds: auth hooks answer
 * before anything streams, headers set by hooks and plugins (CORS) are kept, onSend hooks see the stream,
 * onResponse runs on a normal end, and Fastify's pipe gives backpressure. It is fed in one of two ways:
 *
 * - pull: `pull(iterator, encode)` - a generator is advanced only when the client has taken what was
 *   sent (Readable `_read`), so a client that stops reading pauses the generator;
 * - push: `write(frame)` - fan-out writes frames framed once for many streams; a stream whose unsent bytes
 *   pass its byte budget is closed (the client resumes from history), so fan-out never waits on a client.
 *
 * Its `signal` aborts when the connection ends for any reason: the client left, the app closed, the
 * stream finished. Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { encodeComment, encodeFrame } from './encoder.js'
import type { StreamRegistry } from './registry.js'

/** Headers every event stream carries (connection: keep-alive is added on HTTP/1 only). */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  // no-transform: proxies must not compress or rewrite the stream.
  'cache-control': 'no-cache, no-transform',
  // nginx buffers proxied responses unless told not to.
  'x-accel-buffering': 'no'
}

const HEARTBEAT = Buffer.from(encodeComment())

export interface StartOptions {
  /** Seconds of silence before a heartbeat comment; 0 disables. */
  heartbeatSeconds: number
  /** Fields of the opening frame (`retry`, a resume `id`); without any, the opening is a comment. */
  opening?: { id?: string, retry?: number }
  /** Push mode: unsent bytes beyond which the connection is closed as too slow. */
  budgetBytes?: number
}

export type CloseReason = 'finished' | 'client' | 'slow' | 'shutdown' | 'error'

export class EventStream extends Readable {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** Aborted when the connection ends; pass it to everything that waits on behalf of the stream. */
  readonly signal: AbortSignal
  /** Why the stream ended, once it has. */
  closeReason: CloseReason | undefined

  private readonly controller = new AbortController()
  private readonly registry: StreamRegistry | undefined
  private started = false
  private budgetBytes = Infinity
  private heartbeatMs = 0
  private heartbeatTimer: NodeJS.Timeout | undefined
  private lastWrite = 0
  // Pull mode.
  private source: AsyncIterator<unknown> | undefined
  private encode: ((item: unknown) => string | Buffer) | undefined
  private onSourceError: ((error: unknown) => string | undefined) | undefined
  private pulling = false
  private sourceDone = false

  constructor (request: FastifyRequest, reply: FastifyReply, registry?: StreamRegistry) {
    super()
    this.request = request
    this.reply = reply
    this.signal = this.controller.signal
    this.registry = registry
    // The only reliable end-of-connection signal (request.signal and onRequestAbort fire too early or
    // not at all, fastify#4690); it also fires when the client leaves before the stream started.
    reply.raw.once('close', () => this.terminate(this.closeReason ?? 'client'))
  }

  /** Sends the head and the opening frame at once, so EventSource.onopen fires before the first event. */
  start (options: StartOptions): this {
    if (this.started) return this
    this.started = true
    // The client may have left during the pre-stream step: its close already ran terminate(), which would
    // not run again, so registering now would leave this stream in the registry for good (test/sse/lifecycle).
    if (this.signal.aborted) { this.destroy(); return this }
    const reply = this.reply
    reply.headers(EVENT_STREAM_HEADERS)
    // HTTP/2 forbids connection-specific headers (RFC 9113 §8.2.2); Node warns and drops them.
    if (this.request.raw.httpVersionMajor === 1) reply.header('connection', 'keep-alive')
    this.budgetBytes = options.budgetBytes ?? Infinity
    const opening = options.opening
    this.push(opening !== undefined && (opening.id !== undefined || opening.retry !== undefined) ? encodeFrame(opening) : HEARTBEAT)
    this.lastWrite = Date.now()
    this.heartbeatMs = Math.round(options.heartbeatSeconds * 1000)
    if (this.heartbeatMs > 0) this.scheduleHeartbeat(this.heartbeatMs)
    this.registry?.add(this)
    reply.send(this)
    // A stream opening while the app closes (its pre-stream step outlived the drain) ends at once, as the
    // drained ones did; otherwise app.close() would wait on it forever (test/sse/shutdown.test.ts).
    if (this.registry?.draining === true) this.end('shutdown')
    return this
  }

  /** Pull mode: frames come from `source`, one `encode` per item, only as fast as the client reads. */
  pull<T> (source: AsyncIterator<T>, encode: (item: T) => string | Buffer, onError: (error: unknown) => string | undefined): this {
    this.source = source
    this.encode = encode as (item: unknown) => string | Buffer
    this.onSourceError = onError
    return this
  }

  /**
   * Push mode: queues a frame. Returns false when the stream is gone or was just closed for slowness.
   * `now` lets a fan-out read the clock once for all its streams.
   */
  write (frame: string | Buffer, now = Date.now()): boolean {
    if (this.closeReason !== undefined || this.destroyed) return false
    this.lastWrite = now
    this.push(frame)
    if (this.readableLength + this.reply.raw.writableLength > this.budgetBytes) {
      this.request.log.warn({ unsentBytes: this.readableLength + this.reply.raw.writableLength, budgetBytes: this.budgetBytes }, 'event stream closed: the client reads too slowly')
      this.close('slow')
      return false
    }
    return true
  }

  /** Ends the stream after what is queued: the client sees a clean end (and EventSource reconnects). */
  end (reason: CloseReason = 'finished'): void {
    if (this.closeReason !== undefined || this.destroyed) return
    this.closeReason = reason
    this.stopHeartbeat()
    this.stopSource()
    if (!this.started) { this.terminate(reason); return }
    if (reason === 'shutdown') {
      // The reconnect must open a new connection (to another instance), not reuse this keep-alive one,
      // which would meet the closing server's 503 and make EventSource give up for good.
      this.reply.raw.once('finish', () => this.reply.raw.socket?.destroySoon())
    }
    this.push(null)
  }

  /** Drops the connection now, queued bytes included (slow clients, fatal errors). */
  close (reason: CloseReason): void {
    if (this.closeReason === undefined) this.closeReason = reason
    this.reply.raw.destroy()
    this.destroy()
  }

  override _read (): void {
    if (this.source === undefined || this.pulling || this.sourceDone) return
    this.pulling = true
    void this.pump()
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.terminate(this.closeReason ?? 'client')
    callback(error)
  }

  private async pump (): Promise<void> {
    const source = this.source as AsyncIterator<unknown>
    const encode = this.encode as (item: unknown) => string | Buffer
    let item: unknown
    try {
      while (true) {
        const next = await source.next()
        if (this.destroyed || this.closeReason !== undefined) return
        if (next.done === true) {
          this.sourceDone = true
          this.end('finished')
          return
        }
        item = next.value
        const frame = encode(item)
        this.lastWrite = Date.now()
        if (!this.push(frame)) return
      }
    } catch (error) {
      if (this.destroyed || this.closeReason !== undefined) return
      this.fail(error)
    } finally {
      this.pulling = false
    }
  }

  /** Nothing invalid goes on the wire: the error handler gives the frame to send instead, then the stream ends. */
  private fail (error: unknown): void {
    const frame = this.onSourceError?.(error)
    if (frame !== undefined) this.push(frame)
    this.end('error')
  }

  private stopSource (): void {
    if (this.source === undefined || this.sourceDone) return
    this.sourceDone = true
    // return() runs the generator's finally at once when it is paused at a yield; when it is awaiting,
    // the aborted signal is what wakes it (gen.return() cannot interrupt an await).
    this.source.return?.()?.catch?.(() => {})
  }

  private scheduleHeartbeat (delay: number): void {
    this.heartbeatTimer = setTimeout(this.beat, delay)
    this.heartbeatTimer.unref()
  }

  // Lazy timer: writes only record the time; the timer checks on firing how long the stream was silent.
  private readonly beat = (): void => {
    if (this.closeReason !== undefined || this.destroyed) return
    const idle = Date.now() - this.lastWrite
    if (idle < this.heartbeatMs) { this.scheduleHeartbeat(this.heartbeatMs - idle); return }
    // A stream with bytes still queued is not silent on the wire: a heartbeat would only add to the queue.
    if (this.readableLength === 0 && this.reply.raw.writableLength === 0) {
      this.push(HEARTBEAT)
      this.lastWrite = Date.now()
    }
    this.scheduleHeartbeat(this.heartbeatMs)
  }

  private stopHeartbeat (): void {
    if (this.heartbeatTimer !== undefined) clearTimeout(this.heartbeatTimer)
    this.heartbeatTimer = undefined
  }

  private terminate (reason: CloseReason): void {
    if (this.signal.aborted) return
    if (this.closeReason === undefined) this.closeReason = reason
    this.stopHeartbeat()
    this.stopSource()
    this.registry?.delete(this)
    if (this.closeReason === 'client' && this.started) {
      // onResponse does not run when the client aborts (fastify#6208): say so here.
      this.request.log.info({ route: this.request.routeOptions.url }, 'event stream closed by the client')
    }
    this.controller.abort(this.closeReason)
  }
}
