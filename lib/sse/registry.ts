/**
 * The open event streams of an app, so that `app.close()` can end them: without this, a close with one
 * open stream waits forever under Fastify's default `forceCloseConnections: 'idle'`.
 *
 * It also keeps them alive: one sweep per heartbeat interval writes a comment to every stream that has
 * been silent that long, instead of one timer per stream (a stream's writes only record the time).
 *
 * Shutdown is a drain: the server stops accepting connections, then each stream ends at a random moment
 * of the drain window, so clients reconnect (to another instance, behind a load balancer) spread over
 * the window rather than all at once, and resume from their Last-Event-ID.
 */
import type { FastifyInstance } from 'fastify'
import { DEFAULT_HEARTBEAT_SECONDS } from '../defaults.js'
import { kStreamRegistry } from '../symbols.js'
import { HeldFrames } from './connection.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** @internal The open event streams of the app (see streamRegistryOf). */
    [kStreamRegistry]?: StreamRegistry
  }
}

export interface StreamSettings {
  /** Streams end over this window on close, each at a random moment (default 0 ms: all at once). */
  drainMs?: number
  /** Seconds of silence before a heartbeat comment (default 15; 0 disables). */
  heartbeatSeconds?: number
}

/** Why a stream ended: its source finished, the client left, it fell behind its budget, the app closed, its source failed. */
export type CloseReason = 'finished' | 'client' | 'slow' | 'shutdown' | 'error'

export const CLOSE_REASONS: readonly CloseReason[] = ['finished', 'client', 'slow', 'shutdown', 'error']

/** The streams of one route (its URL template, e.g. `/rooms/:room/events`): never per request, so few. */
export interface RouteStreamCounts {
  /** Open now. */
  open: number
  /** Opened since the app started (the head was sent). */
  opened: number
  /** Closed since the app started, by reason. */
  closed: Record<CloseReason, number>
}

/**
 * Every event stream of the app, by route: views' own streams, relays of broker.subscribe() and topic
 * subscriptions alike, so an operator sees all of them (app.topicMetrics.streams and /metrics). Bumped
 * once per stream opened and closed; read when scraped.
 */
export class StreamCounts {
  /**
   * Events a stream's route refused to send (its schema did not accept them), app-wide: each ended its stream
   * with an error frame carrying its id, so the client moved past it (`topicMetrics.refusedEvents`).
   */
  refusedEvents = 0
  private readonly routes = new Map<string, RouteStreamCounts>()

  opened (route: string): void {
    let counts = this.routes.get(route)
    if (counts === undefined) {
      counts = { open: 0, opened: 0, closed: { finished: 0, client: 0, slow: 0, shutdown: 0, error: 0 } }
      this.routes.set(route, counts)
    }
    counts.open++
    counts.opened++
  }

  closed (route: string, reason: CloseReason): void {
    const counts = this.routes.get(route)
    if (counts === undefined) return
    counts.open--
    counts.closed[reason]++
  }

  /** The counts of every route that has opened a stream, sorted by route (a copy). */
  byRoute (): Record<string, RouteStreamCounts> {
    return Object.fromEntries([...this.routes].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
      .map(([route, counts]) => [route, { open: counts.open, opened: counts.opened, closed: { ...counts.closed } }]))
  }
}

/**
 * What the registry needs of a stream: the EventStream of stream.ts is one. Declared here, so the stream
 * depends on its registry and not the other way round (no import loop, type-only imports included).
 */
export interface RegisteredStream {
  /** Milliseconds of silence before a heartbeat; 0: none. Fixed once the stream is added. */
  readonly heartbeatMs: number
  /** When the stream last wrote (ms since the epoch). */
  readonly lastWrite: number
  /** The URL template of the stream's route (the label of its counts). */
  readonly route: string
  /** Why it ended, once it has. */
  readonly closeReason: CloseReason | undefined
  /** Writes a heartbeat comment. */
  heartbeat (now: number): void
  /** Sends what the stream held back this turn (see flushSoon). */
  flush (): void
  /** Ends the stream after what it has queued. */
  end (reason: 'shutdown'): void
  /** Drops the connection now. */
  close (reason: 'shutdown'): void
  /** Calls `listener` once the stream has closed, whichever way (at once when it already has). */
  onClose (listener: () => void): void
}

/** Least time between two flushes of held-back writes (ms). */
export const FLUSH_SPACING_MS = 5

/** How long an ended stream may take to flush on shutdown before its connection is dropped. */
export const SHUTDOWN_FLUSH_MS = 1_000

/**
 * How long app.close() waits, after every stream has ended, for the cleanup (`finally`) of the generators it
 * stopped: past it, close goes on (a generator stuck in an await that ignores its signal would hold it for
 * ever) and the routes whose cleanup is still running are logged.
 */
export const CLEANUP_GRACE_MS = 5_000

export class StreamRegistry {
  readonly streams = new Set<RegisteredStream>()
  /** Streams end over this window on close, each at a random moment (ms). */
  drainMs: number
  /** Default seconds of silence before a heartbeat, for streams that set none. */
  heartbeatSeconds: number
  draining = false
  /** The instance is about to close (closeOnSignals' `unhealthyFirstMs`): /health already answers 503. */
  leaving = false
  /**
   * Most streams of every kind this process holds at once (createApp's `maxConnections`): an operator
   * sizes a process by its open connections, whatever route they came through. Beyond it, 503 + Retry-After.
   */
  maxStreams = Infinity
  /** Streams holding a slot: open, or admitted and still in their pre-stream step. */
  admitted = 0
  /** Streams opened and closed, by route and reason. */
  readonly counts = new StreamCounts()
  /** Generators' cleanups still running (their `return()`), by route: app.close() waits for them. */
  private readonly cleanups = new Map<Promise<void>, string>()

  constructor (settings: StreamSettings = {}) {
    this.drainMs = settings.drainMs ?? 0
    this.heartbeatSeconds = settings.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS
  }

  /** Streams holding writes back until the end of this turn of the event loop (see EventStream.flush). */
  private toFlush: RegisteredStream[] = []
  /**
   * Where this turn's held frames of every stream begin (see HeldFrames): streams handed the same frames
   * end on one chain and share its joined bytes. A new root per flush, so a turn's chains are let go.
   */
  heldRoot = new HeldFrames()
  private flushScheduled = false
  private lastFlush = -Infinity

  /** Streams by heartbeat interval (ms), each group swept by one timer. */
  private readonly beats = new Map<number, { streams: Set<RegisteredStream>, timer: NodeJS.Timeout }>()

  get size (): number { return this.streams.size }

  /**
   * Takes a slot for a stream, false at the limit. Taken before the pre-stream step awaits anything: checked
   * before an `await authorize` and counted after it, 40 concurrent requests were all admitted against a
   * limit of 5. The stream gives it back when its response closes, whichever way it ends.
   */
  admit (): boolean {
    if (this.admitted >= this.maxStreams) return false
    this.admitted++
    return true
  }

  release (): void {
    this.admitted--
  }

  add (stream: RegisteredStream): void {
    this.streams.add(stream)
    this.counts.opened(stream.route)
    const every = stream.heartbeatMs
    if (every <= 0) return
    let group = this.beats.get(every)
    if (group === undefined) {
      const streams = new Set<RegisteredStream>()
      // Sweeping four times per interval puts each heartbeat within 1.25 intervals of silence.
      const timer = setInterval(() => this.sweep(every, streams), Math.max(10, Math.floor(every / 4)))
      timer.unref()
      group = { streams, timer }
      this.beats.set(every, group)
    }
    group.streams.add(stream)
  }

  /** Flushes `stream` once the current turn of the event loop has run its callbacks and I/O. */
  flushSoon (stream: RegisteredStream): void {
    this.toFlush.push(stream)
    if (this.flushScheduled) return
    this.flushScheduled = true
    // Flushes are at least FLUSH_SPACING_MS apart: events arriving one I/O turn apart (a Redis
    // subscriber's messages, say) then share one system call per connection instead of one each, for a
    // few milliseconds of latency at most. The first write after a quiet spell still leaves at once.
    const wait = this.lastFlush + FLUSH_SPACING_MS - performance.now()
    if (wait <= 0) setImmediate(this.flushAll)
    else setTimeout(this.flushAll, wait)
  }

  private readonly flushAll = (): void => {
    const streams = this.toFlush
    this.toFlush = []
    this.heldRoot = new HeldFrames()
    this.flushScheduled = false
    this.lastFlush = performance.now()
    for (const stream of streams) stream.flush()
  }

  /** Takes out a stream that has ended (its closeReason set); one that never started was not counted. */
  delete (stream: RegisteredStream): void {
    if (this.streams.delete(stream)) this.counts.closed(stream.route, stream.closeReason ?? 'client')
    const group = this.beats.get(stream.heartbeatMs)
    if (group === undefined || !group.streams.delete(stream) || group.streams.size > 0) return
    clearInterval(group.timer)
    this.beats.delete(stream.heartbeatMs)
  }

  private sweep (every: number, streams: Set<RegisteredStream>): void {
    const now = Date.now()
    for (const stream of streams) if (now - stream.lastWrite >= every) stream.heartbeat(now)
  }

  /**
   * A stopped generator's cleanup (the promise its `return()` gave): app.close() waits for it, so a `finally`
   * that publishes or releases something runs before the broker and the app close under it.
   */
  trackCleanup (cleanup: PromiseLike<unknown>, route: string): void {
    const settled: Promise<void> = Promise.resolve(cleanup).then(() => { this.cleanups.delete(settled) }, () => { this.cleanups.delete(settled) })
    this.cleanups.set(settled, route)
  }

  /**
   * Waits up to `graceMs` for the cleanups still running; resolves with the routes of those that did not
   * finish in time (empty when all did).
   */
  async settleCleanups (graceMs = CLEANUP_GRACE_MS): Promise<string[]> {
    if (this.cleanups.size === 0) return []
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs) })
    await Promise.race([Promise.all(this.cleanups.keys()), late])
    clearTimeout(timer)
    return [...this.cleanups.values()]
  }

  /** Ends every open stream over the drain window; resolves when all have ended. */
  async drain (): Promise<void> {
    this.draining = true
    const pending = [...this.streams].map((stream) => new Promise<void>((resolve) => {
      let gone = false
      stream.onClose(() => { gone = true; resolve() })
      if (gone) return
      const end = () => {
        stream.end('shutdown')
        // A client that stopped reading never lets the end flush, so the connection never closes and
        // app.close() would wait forever (test/sse/shutdown.test.ts): drop it after a grace period.
        setTimeout(() => { if (!gone) stream.close('shutdown') }, SHUTDOWN_FLUSH_MS).unref()
      }
      if (this.drainMs === 0) end()
      else setTimeout(end, Math.random() * this.drainMs).unref()
    }))
    await Promise.all(pending)
  }
}

/**
 * The registry of `instance`, created on first use with a preClose hook that drains it. configureApp
 * creates it on the root so every router shares it; a router mounted without configureApp gets its own.
 */
export function streamRegistryOf (instance: FastifyInstance, settings?: StreamSettings): StreamRegistry {
  const existing = instance[kStreamRegistry]
  if (existing !== undefined) return existing
  const registry = new StreamRegistry(settings)
  instance.decorate(kStreamRegistry, registry)
  instance.addHook('preClose', async function drainEventStreams () {
    // Stop accepting connections first, so a client whose stream ends reconnects elsewhere. Fastify
    // closes the server again right after this hook and tolerates ERR_SERVER_NOT_RUNNING.
    if (registry.size > 0 && instance.server.listening) instance.server.close()
    await registry.drain()
    // The streams ended; their generators' finally blocks may still be running (an await in them).
    const late = await registry.settleCleanups()
    if (late.length > 0) {
      instance.log.warn({ routes: [...new Set(late)], count: late.length, graceMs: CLEANUP_GRACE_MS }, 'event stream cleanups still running when the app closed: race the awaits of a generator\'s finally against its signal, or keep them short')
    }
  })
  return registry
}
