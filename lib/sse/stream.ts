/**
 * The connection side of one Server-Sent-Events response.
 *
 * The reply is hijacked once the pre-stream steps have passed, and frames are written to the response
 * directly. Measured: piping a Readable through `reply.send()` costs about 5.6 KB of listeners, stream
 * state and end-of-stream watchers per connection (twice what plain node:http needs for the whole
 * connection) and a Readable's bookkeeping on every event; at 10,000 connections that is the difference
 * between keeping up with node:http and not. What the lifecycle gives is kept:
 *
 * - hooks that run before the handler (authentication answering 401/403) run as usual;
 * - headers set by hooks and plugins with `reply.header()` (CORS) are written with the head;
 * - `onResponse` hooks and Fastify's request log run when a stream ends normally (they hang on the
 *   response's 'finish', which a hijacked reply still emits). `onSend` hooks do not run: an event stream
 *   has no single payload to hand them, and the one thing they would do to it - compress - is wrong.
 *
 * Frames arrive in one of two ways:
 * - pull: `pull(iterator, encoding)` - a generator is advanced only when the response has room, so a
 *   client that stops reading pauses the generator;
 * - push: `write(frame)` - fan-out writes frames framed once for many streams; a stream whose client has
 *   not taken more than its byte budget is closed (the client resumes from history), so fan-out never
 *   waits on a client. What counts is what earlier turns handed to the socket, never this turn's own
 *   held-back batch: a burst written in one turn is not the client's slowness (issue 11 #2).
 *
 * Its `signal` aborts when the stream ends for any reason: the client left, the app closed, the stream
 * finished or failed. Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { kCloseAsSlow, kPullSource, kPushParked, type PullSource } from '../symbols.js'
import { FVIEWS_ERR_STREAM_SLOW } from '../errors.js'
import { connectionFor, type Connection, type HeldFrames, type StreamResponse } from './connection.js'
import { encodeComment, encodeFrame } from './encoder.js'
import type { CloseReason, RegisteredStream, StreamRegistry } from './registry.js'

/** Headers every event stream carries (connection.ts adds what its HTTP version needs). */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  // no-transform: proxies must not compress or rewrite the stream.
  'cache-control': 'no-cache, no-transform',
  // nginx buffers proxied responses unless told not to.
  'x-accel-buffering': 'no'
}

/**
 * The response header that announces the heartbeat interval in seconds (0: none), so that a client can tell
 * a quiet stream from a half-open connection: fastify-views/client reconnects after a multiple of it
 * passes in silence. A header rather than bytes of the body: the body stays what every client already
 * parses, and the value is known before the first byte of it.
 */
export const HEARTBEAT_HEADER = 'heartbeat-interval'

const HEARTBEAT = Buffer.from(encodeComment())

/** Adds the heartbeat header; a cross-origin response (CORS allowed it) also lets the page's script read it. */
function announceHeartbeat (headers: Record<string, string | number | string[]>, heartbeatSeconds: number): void {
  headers[HEARTBEAT_HEADER] = String(heartbeatSeconds)
  if (headers['access-control-allow-origin'] === undefined) return
  const exposed = headers['access-control-expose-headers']
  headers['access-control-expose-headers'] = exposed === undefined || exposed === '' ? HEARTBEAT_HEADER : `${String(exposed)}, ${HEARTBEAT_HEADER}`
}
/** Pull mode: frames are handed to the response in pieces of about this many characters. */
const PULL_BATCH = 16 * 1024

export interface StartOptions {
  /** Seconds of silence before a heartbeat comment; 0 disables. */
  heartbeatSeconds: number
  /** Fields of the opening frame (`retry`, a resume `id`); without any, the opening is a comment. */
  opening?: { id?: string, retry?: number }
  /** Push mode: unsent bytes beyond which the connection is closed as too slow. */
  budgetBytes?: number
  /** What a heartbeat writes (default a comment); topic subscriptions may ask for an `event: heartbeat` frame. */
  heartbeatFrame?: Buffer
}

export type { CloseReason }

/**
 * How a pull-mode stream frames its source's items, and what it writes instead when the source fails (an
 * error frame, or nothing). An object rather than two closures: one per connection either way, and an
 * object is the smaller (see bench/memory-breakdown.ts).
 */
export interface PullEncoding<T> {
  encode (item: T): string | Buffer
  error (error: unknown, refused?: RefusedEvent): string | undefined
}

/**
 * An event the route's encoding refused (its schema, a bad field): what the error frame that replaces it
 * needs to let the client move past it, and the log to name it. `topic` when a relay handed it out.
 */
export interface RefusedEvent {
  item: unknown
  topic: string | undefined
}

/** The response as far as a stream uses it (HTTP/2's compatibility response cannot be corked). */
type Response = StreamResponse & { cork?: () => void, uncork?: () => void }

const heldBytesOf = (source: PullSource): number => source.heldBytes()
const staleBytesOf = (source: PullSource): number => source.staleBytes()

export class EventStream implements RegisteredStream {
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** Why the stream ended (or is ending), once it has. */
  closeReason: CloseReason | undefined
  /** When the stream last wrote (ms): heartbeats measure silence from here. */
  lastWrite = 0
  /** Seconds of silence before a heartbeat, in ms (0: none). */
  heartbeatMs = 0
  private heartbeatFrame: Buffer = HEARTBEAT

  private readonly raw: Response
  private readonly connection: Connection
  private readonly registry: StreamRegistry | undefined
  private controller: AbortController | undefined
  private closeListeners: Array<(reason: CloseReason) => void> | undefined
  private started = false
  private terminated = false
  /** Holds a slot of the registry's connection limit (given back when the response closes). */
  private admitted = false
  private budgetBytes = Infinity
  /** In the registry's list of streams to flush at the end of this turn. */
  private inTurn = false
  /** Pull mode: the response is corked until the flush. */
  private corked = false
  /** Push mode: this turn's frames, held until the flush (then one write). */
  private held: HeldFrames | undefined
  /** Unsent bytes when this turn's batch began: what the client left of earlier batches. */
  private batchStart = 0
  /** Bytes the last flushed batch added: still in flight for a client that reads, so not yet held against it. */
  private lastBatch = 0
  /** Pull mode: frames of this turn not yet handed to the response (written in one piece). */
  private pending = ''
  private roomWaiters: Array<() => void> | undefined
  /** Wakes the room waiters (a 'drain' listener or a timer); made on the first wait. */
  private onRoom: (() => void) | undefined
  // Pull mode.
  private source: AsyncIterator<unknown> | undefined
  private encoding: PullEncoding<unknown> | undefined
  /** Passed to every `next()` of the source: a topic subscription reached by it pushes (relay-push.ts). */
  private probe: unknown
  private sourceDone = false
  /** The source pushes (kPushParked): the pump stopped pulling until resumePull(). */
  private parked = false
  /** resumePull() came before the pump saw the source's kPushParked answer: it pulls again instead of parking. */
  private resumeAsked = false
  /** Relays fed with this stream's signal: what they queue for the client counts too (see kPullSource). */
  private pullSources: PullSource[] | undefined
  /** Pull mode: the loop waits for the response to drain (the client has not taken what was written). */
  private waitingForClient = false
  /**
   * A replay waits for the client (replayRoom, or the pull loop): since when (0: it does not), and the
   * unsent bytes then - what the heartbeat measures the client's progress against (see replayStalled).
   */
  private stallSince = 0
  private stallUnsent = 0

  constructor (request: FastifyRequest, reply: FastifyReply, registry?: StreamRegistry) {
    this.request = request
    this.reply = reply
    this.raw = reply.raw as unknown as Response
    this.connection = connectionFor(request, this.raw)
    this.registry = registry
    // The only reliable end-of-connection signal (request.signal and onRequestAbort fire too early or
    // not at all, fastify#4690); it also fires when the client leaves before the stream started. `on`,
    // not `once`: a response closes once and terminate() runs once, and once()'s wrapper and its state
    // would be two more objects per connection. The listener is an inline arrow, never a class field:
    // those are closures per instance (and, under tsx's keepNames, each with a 256-byte property
    // dictionary for its `name`; see bench/memory-breakdown.ts).
    this.raw.on('close', () => this.terminate(this.closeReason ?? 'client'))
  }

  /**
   * Reserves this stream's slot of the connection limit; false at the limit (answer 503 + Retry-After, see
   * `overCapacity`). Call it before anything is awaited; the slot comes back when the response closes,
   * whether the stream ran, was refused before its first byte, or its client left.
   */
  admit (): boolean {
    // A client that already left has no response to close later, so it takes no slot (nor needs one).
    if (this.admitted || this.terminated || this.registry === undefined || this.raw.destroyed === true) return true
    if (!this.registry.admit()) return false
    this.admitted = true
    return true
  }

  /** Aborted when the stream ends; pass it to everything that waits on behalf of the stream. Made on first use. */
  get signal (): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      this.controller.signal[kCloseAsSlow] = (error) => this.closeAsSlow(error)
      this.controller.signal[kPullSource] = (source) => this.addPullSource(source)
      if (this.terminated || (this.closeReason !== undefined && this.closeReason !== 'finished')) this.controller.abort(this.closeReason)
    }
    return this.controller.signal
  }

  /** The URL template of the route (`/rooms/:room/events`): the label of the stream's counts, never the request's URL. */
  get route (): string {
    return this.request.routeOptions.url ?? ''
  }

  /** True once the stream has ended or is ending. */
  get closed (): boolean {
    return this.closeReason !== undefined || this.terminated
  }

  /** Runs once when the connection is gone (a lighter `signal` listener, for per-connection bookkeeping). */
  onClose (listener: (reason: CloseReason) => void): void {
    if (this.terminated) { listener(this.closeReason ?? 'client'); return }
    // A literal of one: an array grown from empty by push() reserves 17 slots.
    if (this.closeListeners === undefined) this.closeListeners = [listener]
    else this.closeListeners.push(listener)
  }

  /** Bytes written that the client has not taken yet, with this turn's held frames. */
  get unsentBytes (): number {
    return this.connection.unsentBytes() + (this.held?.bytes ?? 0)
  }

  /** Resolves when the response has room again (it drained), or the stream is gone. */
  whenWritable (): Promise<void> {
    if (this.terminated) return Promise.resolve()
    return new Promise((resolve) => {
      if (this.roomWaiters === undefined) {
        this.roomWaiters = []
        // 'drain' only comes after a write was refused; below the high-water mark, look again shortly.
        const wake = this.onRoom ??= () => this.freeRoom()
        if (this.raw.writableNeedDrain === false) setTimeout(wake, 10).unref()
        else this.raw.once('drain', wake)
      }
      this.roomWaiters.push(resolve)
    })
  }

  /**
   * Paces a topic replay pushed into this stream: undefined while at most `limit` bytes are unsent, else a
   * promise that resolves when the response has room (or the stream is gone). A replay that waits while its
   * client takes nothing for a heartbeat interval is closed as slow (see replayStalled).
   */
  replayRoom (limit: number): Promise<void> | undefined {
    if (this.closed) return undefined
    const unsent = this.unsentBytes
    if (unsent <= limit) {
      this.stallSince = 0
      return undefined
    }
    if (this.stallSince === 0) {
      this.stallSince = Date.now()
      this.stallUnsent = unsent
    }
    return this.whenWritable()
  }

  /** Sends the head and the opening frame at once, so EventSource.onopen fires before the first event. */
  start (options: StartOptions): this {
    if (this.started) return this
    this.started = true
    // The client may have left during the pre-stream step: its close already ran terminate().
    if (this.terminated) return this
    const reply = this.reply
    reply.hijack()
    const headers: Record<string, string | number | string[]> = { ...(reply.getHeaders() as Record<string, string | number | string[]>), ...EVENT_STREAM_HEADERS, ...this.connection.headers }
    // An event stream has no length (a hook's content-length would contradict the chunked framing).
    delete headers['content-length']
    announceHeartbeat(headers, options.heartbeatSeconds)
    this.raw.writeHead(reply.statusCode, headers)
    this.budgetBytes = options.budgetBytes ?? Infinity
    const opening = options.opening
    this.raw.write(opening !== undefined && (opening.id !== undefined || opening.retry !== undefined) ? encodeFrame(opening) : HEARTBEAT)
    this.lastWrite = Date.now()
    this.heartbeatMs = Math.round(options.heartbeatSeconds * 1000)
    if (options.heartbeatFrame !== undefined) this.heartbeatFrame = options.heartbeatFrame
    this.registry?.add(this)
    // A stream opening while the app closes (its pre-stream step outlived the drain) ends at once, as the
    // drained ones did; otherwise app.close() would wait on it forever (test/sse/shutdown.test.ts).
    if (this.registry?.draining === true) this.end('shutdown')
    else if (this.source !== undefined) void this.pump()
    return this
  }

  /** Pull mode: frames come from `source`, one `encoding.encode()` per item, only as fast as the client reads. */
  pull<T> (source: AsyncIterator<T>, encoding: PullEncoding<T>, probe?: unknown): this {
    this.source = source
    this.probe = probe
    this.encoding = encoding as PullEncoding<unknown>
    return this
  }

  /** A relay that pushes and parked the pump (kPushParked) failed: pull again, to meet the failure. */
  resumePull (): void {
    if (this.closed) return
    // The source answered kPushParked and ended before the pump saw the answer (it travels through the
    // view's generator, microtasks later): the pump must not park then, or nobody would pull again.
    if (!this.parked) { this.resumeAsked = true; return }
    this.parked = false
    void this.pump()
  }

  /** Push mode: unsent bytes beyond which the connection is closed as too slow (a relay that switched to push). */
  pushBudget (budgetBytes: number): void {
    this.budgetBytes = budgetBytes
  }

  /**
   * Ends the stream with the error frame its source's failures get; `refused`: a pushed event that does not
   * encode (its frame then carries the event's id, as on the pull path).
   */
  failWith (error: unknown, refused?: RefusedEvent): void {
    if (!this.closed) this.fail(error, refused)
  }

  /**
   * Push mode: writes a frame. Returns false when the stream is gone or was just closed for slowness.
   * `now` lets a fan-out read the clock once for all its streams.
   */
  write (frame: string | Buffer, now = Date.now()): boolean {
    return this.writeShared(typeof frame === 'string' ? Buffer.from(frame) : frame, now)
  }

  /**
   * Push mode, a frame shared by many streams (the same Buffer handed to every stream of a topic): held
   * until the end of the turn with the turn's other frames, then written in one piece that the streams
   * handed the same frames share (connection.ts).
   */
  writeShared (frame: Buffer, now: number): boolean {
    if (this.closeReason !== undefined || this.terminated || !this.openBatch()) return false
    this.lastWrite = now
    if (this.held !== undefined) this.held = this.held.then(frame)
    else this.raw.write(frame)
    return true
  }

  /**
   * Push mode: the budget is checked once per batch, when the first write of a turn opens it. The unsent
   * bytes then are what earlier batches handed to the socket and the client has not taken, less the last
   * batch, which a client that reads may still be taking (Node counts a socket write as unsent until all
   * of it went out). Counting at every write instead counted the batch being held back itself: a burst of
   * 6,000 events published with Promise.all closed every client, readers at full speed included. So a
   * client that stopped reading is closed once it left more than its budget, holding at most the budget
   * and two batches; the check costs one read of a counter per turn, not per event.
   */
  private openBatch (): boolean {
    if (this.held !== undefined) return true
    const unsent = this.connection.unsentBytes()
    if (unsent - this.lastBatch > this.budgetBytes) {
      this.request.log.warn({ unsentBytes: unsent, budgetBytes: this.budgetBytes }, 'event stream closed: the client reads too slowly')
      this.close('slow')
      return false
    }
    this.batchStart = unsent
    if (this.registry !== undefined) {
      // The chains of a turn start from the registry's root, so streams handed the same frames share them.
      this.held = this.registry.heldRoot
      if (!this.inTurn) this.scheduleFlush()
    }
    return true
  }

  private scheduleFlush (): void {
    this.inTurn = true
    ;(this.registry as StreamRegistry).flushSoon(this)
  }

  /**
   * Holds this tick's writes and sends them in one system call when the registry flushes (after the I/O
   * of the current turn of the event loop). Without it, a burst of events published one `await` apart
   * costs one write system call per event per connection: node:http's own corking only lasts until the
   * next tick, which every `await` reaches.
   */
  private coalesce (): boolean {
    if (this.corked) return true
    if (this.registry === undefined) return false
    // HTTP/2 responses cannot be corked; their frames are still batched by the pull loop.
    this.raw.cork?.()
    this.corked = true
    if (!this.inTurn) this.scheduleFlush()
    return true
  }

  /** Sends what this tick held back (the registry calls it once per turn of the event loop). */
  flush (): void {
    if (this.pending !== '') {
      const pending = this.pending
      this.pending = ''
      if (!this.terminated) this.raw.write(pending)
    }
    if (!this.inTurn) return
    this.inTurn = false
    const held = this.held
    this.held = undefined
    // What the client has yet to take of this batch once it is handed over (see openBatch).
    this.lastBatch = Math.max(0, this.connection.unsentBytes() + (held?.bytes ?? 0) - this.batchStart)
    if (this.corked) {
      this.corked = false
      this.raw.uncork?.()
    }
    // After the uncork: the response's own corked writes came first.
    if (held !== undefined && held.bytes > 0 && !this.terminated) this.connection.writeHeld(held)
  }

  /**
   * A heartbeat comment, unless bytes are still queued (then the stream is not silent on the wire). The
   * budget is checked here too: a client that stopped after one burst written in a single turn, on a topic
   * that then fell quiet, met no later write to close it and kept the whole burst buffered
   * (test/sse/stalled-after-burst.test.ts). A heartbeat interval later, a reader has taken its last batch.
   */
  heartbeat (now: number): void {
    if (this.closeReason !== undefined || this.terminated) return
    // This turn's held frames are not the client's slowness (they have not been handed over yet). On the
    // pull path what waits is in the relays' queues, held against the client while the loop waits for it to
    // take what was written: a loop silent for a heartbeat interval for another reason (the process was
    // busy, the view's generator is slow) has nothing to blame on the client, and the relay's own check at
    // each event still bounds its queue.
    const unsent = this.connection.unsentBytes()
    const queued = this.waitingForClient ? this.queuedBytes() : 0
    const budget = this.pullSources === undefined ? this.budgetBytes : Math.min(this.budgetBytes, this.pullBudget())
    if (unsent + queued > budget || this.replayStalled(unsent, now)) {
      this.request.log.warn(queued === 0 ? { unsentBytes: unsent, budgetBytes: budget } : { unsentBytes: unsent, queuedBytes: queued, budgetBytes: budget }, 'event stream closed: the client reads too slowly')
      this.close('slow')
      return
    }
    if (unsent === 0 && this.pending === '' && this.held === undefined) this.raw.write(this.heartbeatFrame)
    this.lastWrite = now
  }

  /**
   * A replay paced by its client - pushed (replayRoom), or a relay whose replay waits for this pull loop,
   * which waits for the client - whose client took nothing for a heartbeat interval. It holds no more than
   * its budget, but for good: read in one go, a resume over a large backlog held all of it, and on a quiet
   * topic no later event came to close it (outside review, F1). A client that takes anything meanwhile is
   * not stalled: a slow reader keeps its replay.
   */
  private replayStalled (unsent: number, now: number): boolean {
    if (this.stallSince === 0) return false
    const waits = this.waitingForClient ? this.pullReplayWaits() : this.roomWaiters !== undefined
    if (!waits) return false
    if (unsent < this.stallUnsent) {
      this.stallUnsent = unsent
      this.stallSince = now
      return false
    }
    return now - this.stallSince >= this.heartbeatMs
  }

  /** Ends the stream after what is queued: the client sees a clean end (and EventSource reconnects). */
  end (reason: CloseReason = 'finished'): void {
    if (this.closeReason !== undefined || this.terminated) return
    this.closeReason = reason
    // Whatever waits on behalf of the stream stops now, before the generator's cleanup runs.
    if (reason !== 'finished') this.controller?.abort(reason)
    this.stopSource()
    if (!this.started) { this.terminate(reason); return }
    this.flush()
    if (reason === 'shutdown') {
      // The reconnect must open a new connection (to another instance), not reuse this keep-alive one,
      // which would meet the closing server's 503 and make EventSource give up for good.
      this.raw.once('finish', () => this.raw.socket?.destroySoon?.())
    }
    this.raw.end()
  }

  /** Drops the connection now, queued bytes included (slow clients, fatal errors, stuck shutdowns). */
  close (reason: CloseReason): void {
    if (this.closeReason === undefined) this.closeReason = reason
    this.held = undefined
    this.raw.destroy()
  }

  private async pump (): Promise<void> {
    const source = this.source as AsyncIterator<unknown>
    const encoding = this.encoding as PullEncoding<unknown>
    const next = source.next.bind(source) as (probe: unknown) => Promise<IteratorResult<unknown>>
    const probe = this.probe
    /** Characters written since the loop last gave the event loop a turn. */
    let sinceTurn = 0
    try {
      while (true) {
        const item = await next(probe)
        if (this.closed) return
        if (item.value === kPushParked && item.done !== true) {
          if (this.resumeAsked) {
            this.resumeAsked = false
            continue
          }
          // The source pushes from now on: nothing waits on its behalf until it resumes the pump.
          this.parked = true
          return
        }
        if (item.done === true) {
          this.sourceDone = true
          this.end('finished')
          return
        }
        let frame: string | Buffer
        try {
          frame = encoding.encode(item.value)
        } catch (error) {
          this.fail(error, { item: item.value, topic: this.topicOf((item.value as { id?: unknown } | null)?.id) })
          return
        }
        this.lastWrite = Date.now()
        // A generator that yields fast fills one string, written in pieces of PULL_BATCH (and what is left
        // at the end of the turn): one chunk of the response, and of chunked encoding, per piece, not per event.
        let room: boolean
        if (this.coalesce() && typeof frame === 'string' && frame.length < PULL_BATCH) {
          this.pending += frame
          if (this.pending.length < PULL_BATCH) continue
          sinceTurn += this.pending.length
          room = this.raw.write(this.pending)
          this.pending = ''
        } else {
          sinceTurn += this.pending.length + frame.length
          if (this.pending !== '') { this.raw.write(this.pending); this.pending = '' }
          room = this.raw.write(frame)
        }
        if (!room) {
          // What was held back must go out before there can be a drain.
          this.flush()
          this.waitingForClient = true
          this.stallSince = Date.now()
          this.stallUnsent = this.connection.unsentBytes()
          await this.whenWritable()
          this.waitingForClient = false
          this.stallSince = 0
          if (this.closed) return
        }
        if (sinceTurn >= PULL_BATCH && this.staleBytes() === 0) {
          // A source that never waits (a relay holding a burst) and a socket that takes every write at once
          // kept this loop in microtasks until the source was empty, while every other connection of the
          // process waited (test/sse/relay-fairness.test.ts): the event loop gets a turn after each piece.
          // Except while a relay holds events from before the last turn: one piece per turn could not keep
          // up with a relay fed more than that per turn (Redis hands over what one read holds), so its queue
          // grew and a reader at full speed was closed as slow. Those go out now, as the push path writes a
          // turn's events at once; the response's backpressure still bounds the turn.
          sinceTurn = 0
          await new Promise((resolve) => setImmediate(resolve))
          if (this.closed) return
        }
      }
    } catch (error) {
      if (this.closed) return
      if (error instanceof FVIEWS_ERR_STREAM_SLOW) this.closeAsSlow(error)
      else this.fail(error)
    }
  }

  /**
   * The source gave up on a client that stopped taking events (a relay past its budget). An error frame and
   * a clean end would wait behind the bytes the client does not read, and keep its socket and its place in
   * the registry for good (issue 11 #3): the connection is dropped, and the client resumes from history.
   */
  private closeAsSlow (error: Error): void {
    if (this.closed) return
    const queued = this.queuedBytes()
    this.request.log.warn(queued === 0 ? { err: error } : { err: error, unsentBytes: this.connection.unsentBytes(), queuedBytes: queued, budgetBytes: this.pullBudget() }, 'event stream closed: the client reads too slowly')
    this.close('slow')
  }

  /**
   * Nothing invalid goes on the wire: the error handler gives the frame to send instead, then the stream
   * ends. For a refused event the frame carries its id, so the client's resume moves past it.
   */
  private fail (error: unknown, refused?: RefusedEvent): void {
    this.flush()
    const frame = this.encoding?.error(error, refused)
    if (frame !== undefined) this.raw.write(frame)
    this.end('error')
  }

  /** A view may subscribe again and again over one stream: the relays that ended are let go of here. */
  private addPullSource (source: PullSource): void {
    if (this.terminated) return
    this.pullSources = this.pullSources === undefined ? [source] : [...this.pullSources.filter((known) => !known.done), source]
  }

  /** Bytes the relays this stream pulls hold for it. */
  private queuedBytes (): number {
    return this.sumOfPullSources(heldBytesOf)
  }

  /** Bytes the relays this stream pulls have held since before the last turn. */
  private staleBytes (): number {
    return this.sumOfPullSources(staleBytesOf)
  }

  private sumOfPullSources (bytesOf: (source: PullSource) => number): number {
    const sources = this.pullSources
    if (sources === undefined) return 0
    let bytes = 0
    for (const source of sources) bytes += bytesOf(source)
    return bytes
  }

  /** A relay this stream pulls waits with its replay for the stream to take what it queued. */
  private pullReplayWaits (): boolean {
    for (const source of this.pullSources ?? []) if (source.replayWaits()) return true
    return false
  }

  private pullBudget (): number {
    let budget = Infinity
    for (const source of this.pullSources ?? []) if (!source.done) budget = Math.min(budget, source.budgetBytes)
    return budget
  }

  /** The topic of the event with cursor `id`, when a relay of this stream just handed it out. */
  private topicOf (id: unknown): string | undefined {
    for (const source of this.pullSources ?? []) {
      const topic = source.topicOf(id)
      if (topic !== undefined) return topic
    }
    return undefined
  }

  private stopSource (): void {
    if (this.source === undefined || this.sourceDone) return
    this.sourceDone = true
    // return() runs the generator's finally at once when it is paused at a yield; when it is awaiting,
    // the aborted signal is what wakes it (gen.return() cannot interrupt an await).
    const cleanup = this.source.return?.()
    if (cleanup === undefined || typeof cleanup.then !== 'function') return
    if (this.registry !== undefined) this.registry.trackCleanup(cleanup, this.request.routeOptions.url ?? this.request.url)
    else cleanup.then(undefined, () => {})
  }

  private freeRoom (): void {
    const waiters = this.roomWaiters
    this.roomWaiters = undefined
    if (waiters !== undefined) for (const wake of waiters) wake()
  }

  private terminate (reason: CloseReason): void {
    if (this.terminated) return
    this.terminated = true
    if (this.closeReason === undefined) this.closeReason = reason
    this.held = undefined
    this.pullSources = undefined
    this.registry?.delete(this)
    if (this.admitted) this.registry?.release()
    this.controller?.abort(this.closeReason)
    this.stopSource()
    if (this.onRoom !== undefined) this.raw.off('drain', this.onRoom)
    this.freeRoom()
    if (this.closeReason === 'client' && this.started) {
      // Fastify's request log does not cover a client abort (fastify#6208): say so here.
      this.request.log.info({ route: this.request.routeOptions.url }, 'event stream closed by the client')
    }
    const listeners = this.closeListeners
    this.closeListeners = undefined
    if (listeners !== undefined) for (const listener of listeners) listener(this.closeReason)
  }
}
