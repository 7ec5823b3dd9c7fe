/**
 * One resuming event stream: what EventSource leaves to its user, done once.
 *
 * - resume: every attempt after the first sends the last event id (the `Last-Event-ID` header, or
 *   `?lastEventId=` where a header cannot be sent), so a topic stream replays exactly what was missed;
 * - a watchdog: the server announces its heartbeat interval (`heartbeat-interval` response header); after
 *   `watchdogFactor` times that in silence the connection is taken for half-open and replaced - EventSource
 *   cannot tell a quiet stream from a dead one;
 * - backoff with jitter, and `Retry-After` on 503/429 as a lower bound;
 * - a final error with the server's problem document on a status retrying cannot change (401, 403, 404,
 *   other 4xx): no reconnect loop;
 * - close through an AbortSignal or close(), and the connection state as it changes.
 *
 * Two transports: `fetch` (default; headers can be sent, statuses and problem documents read) and the
 * native `EventSource` (`transport: 'eventsource'`), which keeps its own reconnects and cannot see statuses.
 */
import { backoffDelay, retryAfterDelay, retryAfterMs, type BackoffOptions } from './backoff.js'
import { EventStreamError } from './errors.js'
import { EventStreamParser, type ParsedEvent } from './sse-parser.js'
import type { ConnectionState, EventMeta, ProblemDocument, ReconnectReason, ResetInfo, StateChange } from './types.js'

/** The announcing header's name (lib/sse/stream.ts sends it; a copy, since the client loads no server code). */
export const HEARTBEAT_HEADER = 'heartbeat-interval'

/** The part of a fetch Response the client reads (the global Response of browsers and Node fits it). */
export interface ResponseLike {
  status: number
  ok: boolean
  headers: { get: (name: string) => string | null }
  body: { getReader: () => { read: () => Promise<{ done: boolean, value?: Uint8Array }>, cancel: (reason?: unknown) => Promise<void> } } | null
  text: () => Promise<string>
}
export type FetchLike = (url: string, init: { headers: Record<string, string>, signal: AbortSignal, credentials?: 'omit' | 'same-origin' | 'include', cache?: 'no-store' }) => Promise<ResponseLike>

/** The part of EventSource the client uses (the browser's, or a package's such as `eventsource` on Node). */
export interface EventSourceLike {
  readonly readyState: number
  close: () => void
  addEventListener: (type: string, listener: (event: { data?: string, lastEventId?: string }) => void) => void
}
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike

export type HeadersOption = Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)

export interface EventStreamOptions extends BackoffOptions {
  /** Resolves relative URLs: the page's address in a browser by default; required on Node for a path. */
  baseUrl?: string | URL
  /** Headers of every attempt (fetch transport); a function is called per attempt, so a token can be renewed. */
  headers?: HeadersOption
  /** `include` sends cookies cross-origin (EventSource's `withCredentials`). Default `same-origin`. */
  credentials?: 'omit' | 'same-origin' | 'include'
  /** Resume from a cursor kept elsewhere (storage), from the first attempt on. */
  lastEventId?: string
  /** How the cursor is sent: `header` (default with fetch) or `query` (`?lastEventId=`; always with EventSource). */
  resumeWith?: 'header' | 'query'
  /** `fetch` (default) or the native `eventsource`. */
  transport?: 'fetch' | 'eventsource'
  /** The fetch to use (default the global one). */
  fetch?: FetchLike
  /** The EventSource to use with `transport: 'eventsource'` (default the global one). */
  EventSource?: EventSourceConstructor
  /** Closes the stream when aborted. */
  signal?: AbortSignal
  /**
   * The heartbeat interval in seconds when the server announces none (0: no watchdog). The fetch transport
   * reads the server's announcement; with EventSource, which cannot read headers nor see comments, this is
   * the only source, and it needs the server's heartbeats as events (`heartbeat: 'event'`).
   */
  heartbeatSeconds?: number
  /** Silence, in heartbeat intervals, after which the connection is replaced. Default 3. */
  watchdogFactor?: number
  /** Parses an event's data; default JSON, and the text itself where it is not JSON (string-schema events). */
  parse?: (data: string, event: string) => unknown
  /** Longest line (characters) accepted before the connection is dropped and retried. Default 8 Mi. */
  maxLineLength?: number
}

type Listener = (data: unknown, meta: EventMeta) => void

/** Control events of topic streams, handled by the client rather than given to listeners. */
const TOPIC_CONTROL = new Set(['subscribed', 'reset', 'heartbeat'])

interface Retry { kind: 'retry', reason: ReconnectReason, healthy: boolean, status?: number, afterMs?: number }
interface Final { kind: 'final', error: EventStreamError | undefined }
type Outcome = Retry | Final

function defaultParse (data: string): unknown {
  try {
    return JSON.parse(data)
  } catch {
    return data
  }
}

async function problemOf (response: ResponseLike): Promise<ProblemDocument | undefined> {
  try {
    const text = await response.text()
    const parsed = JSON.parse(text) as unknown
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as ProblemDocument : undefined
  } catch {
    return undefined
  }
}

function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) { resolve(); return }
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })
}

function absolute (url: string | URL, base: string | URL | undefined): URL {
  const page = (globalThis as { location?: { href: string } }).location?.href
  return new URL(url, base ?? page)
}

/** A typed, resuming event stream. `M` maps event names to their data. */
export class EventStream<M extends object = { [event: string]: unknown }> {
  /** The connection state (see `onState` for changes). */
  state: ConnectionState = 'connecting'
  /** The cursor: the id of the last event received (sent back on every reconnect). */
  lastEventId: string
  /** The final error, once the stream stopped because of one. */
  error: EventStreamError | undefined
  /** Resolves when the stream is closed for good: with the final error, or undefined when closed by the user. */
  readonly ended: Promise<EventStreamError | undefined>

  private readonly url: URL
  private readonly options: EventStreamOptions
  private readonly topicControl: boolean
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly stateListeners = new Set<(change: StateChange) => void>()
  private readonly errorListeners = new Set<(error: EventStreamError) => void>()
  private readonly resetListeners = new Set<(info: ResetInfo, meta: EventMeta<'reset'>) => void>()
  private readonly stop = new AbortController()
  private serverRetryMs: number | undefined
  private resolveEnded!: (error: EventStreamError | undefined) => void
  /** Adds a listener's event name to the live EventSource (native transport). */
  private listenNative: ((name: string) => void) | undefined

  constructor (url: string | URL, options: EventStreamOptions = {}, kind: 'view' | 'topics' = 'view') {
    this.url = absolute(url, options.baseUrl)
    this.options = options
    this.topicControl = kind === 'topics'
    this.lastEventId = options.lastEventId ?? ''
    this.ended = new Promise((resolve) => { this.resolveEnded = resolve })
    const signal = options.signal
    if (signal !== undefined) {
      if (signal.aborted) this.close()
      else signal.addEventListener('abort', () => this.close(), { once: true })
    }
    if (!this.stop.signal.aborted) void this.run()
  }

  /** Listens to one event by name; returns the function that stops listening. */
  on<K extends keyof M & string> (event: K, listener: (data: M[K], meta: EventMeta<K>) => void): () => void {
    let set = this.listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(event, set)
      this.listenNative?.(event)
    }
    set.add(listener as Listener)
    return () => { set.delete(listener as Listener) }
  }

  /** A topic stream's `reset`: the events missed cannot be replayed; refetch the state, then follow the events. */
  onReset (listener: (info: ResetInfo, meta: EventMeta<'reset'>) => void): () => void {
    this.resetListeners.add(listener)
    return () => { this.resetListeners.delete(listener) }
  }

  /** Every state change, with why and how long until the next attempt when reconnecting. */
  onState (listener: (change: StateChange) => void): () => void {
    this.stateListeners.add(listener)
    return () => { this.stateListeners.delete(listener) }
  }

  /** Errors: the server's `event: error` frames (the client reconnects), and the final error. */
  onError (listener: (error: EventStreamError) => void): () => void {
    this.errorListeners.add(listener)
    return () => { this.errorListeners.delete(listener) }
  }

  /** Closes the stream for good (the same as aborting the `signal` option). */
  close (): void {
    if (this.stop.signal.aborted) return
    this.stop.abort()
    this.finish(undefined)
  }

  private finish (error: EventStreamError | undefined): void {
    if (this.state === 'closed') return
    this.error = error
    if (error !== undefined) this.reportError(error)
    this.setState({ state: 'closed' })
    this.resolveEnded(error)
  }

  private setState (change: StateChange): void {
    if (this.state === 'closed') return
    this.state = change.state
    for (const listener of [...this.stateListeners]) this.safely(() => listener(change))
  }

  private reportError (error: EventStreamError): void {
    for (const listener of [...this.errorListeners]) this.safely(() => listener(error))
  }

  /** A listener's exception is the page's bug, not the stream's: it is rethrown apart, and the stream goes on. */
  private safely (call: () => void): void {
    try {
      call()
    } catch (error) {
      queueMicrotask(() => { throw error })
    }
  }

  private async run (): Promise<void> {
    let attempt = 0
    const random = this.options.random ?? Math.random
    while (!this.stop.signal.aborted) {
      let outcome: Outcome
      try {
        outcome = this.options.transport === 'eventsource' ? await this.attemptNative() : await this.attemptFetch()
      } catch (error) {
        // A bug of ours or a throwing headers() callback: never an unhandled rejection, and not a loop either.
        outcome = { kind: 'final', error: new EventStreamError('FVIEWS_ERR_CLIENT_REFUSED', `The stream could not be opened: ${String((error as Error)?.message ?? error)}`, { final: true }) }
      }
      if (this.stop.signal.aborted) return
      if (outcome.kind === 'final') {
        this.stop.abort()
        this.finish(outcome.error)
        return
      }
      attempt = outcome.healthy ? 1 : attempt + 1
      const delayMs = outcome.afterMs !== undefined
        ? retryAfterDelay(outcome.afterMs, random)
        : backoffDelay(attempt, this.serverRetryMs ?? this.options.initialDelayMs ?? 1000, this.options.maxDelayMs ?? 30_000, random)
      this.setState({ state: 'reconnecting', reason: outcome.reason, attempt, delayMs, ...(outcome.status === undefined ? {} : { status: outcome.status }) })
      await sleep(delayMs, this.stop.signal)
    }
  }

  private attemptUrl (forceQuery: boolean): URL {
    const url = new URL(this.url)
    if (this.lastEventId !== '' && (forceQuery || this.options.resumeWith === 'query')) url.searchParams.set('lastEventId', this.lastEventId)
    return url
  }

  private heartbeatMs (announced: string | null): number {
    const seconds = announced !== null && announced.trim() !== '' && Number.isFinite(Number(announced)) ? Number(announced) : this.options.heartbeatSeconds ?? 0
    return seconds > 0 ? seconds * 1000 * (this.options.watchdogFactor ?? 3) : 0
  }

  private async attemptFetch (): Promise<Outcome> {
    const controller = new AbortController()
    const abort = (): void => controller.abort()
    this.stop.signal.addEventListener('abort', abort)
    let watchdog: ReturnType<typeof setTimeout> | undefined
    try {
      const given = typeof this.options.headers === 'function' ? await this.options.headers() : this.options.headers
      const headers: Record<string, string> = { accept: 'text/event-stream', ...given }
      if (this.lastEventId !== '' && this.options.resumeWith !== 'query') headers['last-event-id'] = this.lastEventId
      const fetcher = this.options.fetch ?? (globalThis.fetch as unknown as FetchLike)
      let response: ResponseLike
      try {
        response = await fetcher(this.attemptUrl(false).href, { headers, signal: controller.signal, credentials: this.options.credentials ?? 'same-origin', cache: 'no-store' })
      } catch {
        return { kind: 'retry', reason: 'network', healthy: false }
      }
      const { status } = response
      // 204: the server asks the client not to reconnect (the EventSource standard's meaning).
      if (status === 204) return { kind: 'final', error: undefined }
      if (!response.ok) {
        const problem = await problemOf(response)
        if (status === 503 || status === 429) {
          return { kind: 'retry', reason: 'status', healthy: false, status, afterMs: retryAfterMs(response.headers.get('retry-after')) }
        }
        if (status >= 500 || status === 408) return { kind: 'retry', reason: 'status', healthy: false, status }
        const detail = problem?.detail ?? problem?.title ?? `HTTP ${status}`
        return { kind: 'final', error: new EventStreamError('FVIEWS_ERR_CLIENT_REFUSED', `The server refused the stream (${status}): ${detail}`, { status, problem, final: true }) }
      }
      const type = response.headers.get('content-type') ?? ''
      if (!/^text\/event-stream\s*(;|$)/i.test(type) || response.body === null) {
        await response.body?.getReader().cancel().catch(() => {})
        return { kind: 'final', error: new EventStreamError('FVIEWS_ERR_CLIENT_NOT_EVENT_STREAM', `The answer is not an event stream (content-type '${type}'): check the URL`, { status, final: true }) }
      }
      this.setState({ state: 'open' })
      const silenceMs = this.heartbeatMs(response.headers.get(HEARTBEAT_HEADER))
      const reader = response.body.getReader()
      let lastHeard = Date.now()
      let silent = false
      if (silenceMs > 0) {
        // One timer per silence window, moved on only when it fires: no clearTimeout per chunk.
        const check = (): void => {
          const quiet = Date.now() - lastHeard
          if (quiet >= silenceMs) { silent = true; controller.abort() } else watchdog = setTimeout(check, silenceMs - quiet)
        }
        watchdog = setTimeout(check, silenceMs)
      }
      let healthy = false
      let failed = false
      const parser = new EventStreamParser({
        event: (event) => {
          healthy = true
          if (this.deliver(event)) failed = true
        },
        retry: (ms) => { this.serverRetryMs = ms }
      }, this.lastEventId)
      const decoder = new TextDecoder()
      const maxLine = this.options.maxLineLength ?? 8 * 1024 * 1024
      while (true) {
        let chunk: { done: boolean, value?: Uint8Array }
        try {
          chunk = await reader.read()
        } catch {
          if (this.stop.signal.aborted) return { kind: 'final', error: undefined }
          return { kind: 'retry', reason: silent ? 'silent' : 'network', healthy }
        }
        if (chunk.done) break
        lastHeard = Date.now()
        parser.feed(decoder.decode(chunk.value, { stream: true }))
        this.lastEventId = parser.lastEventId
        if (parser.pendingLength > maxLine) {
          controller.abort()
          this.reportError(new EventStreamError('FVIEWS_ERR_CLIENT_LINE_TOO_LONG', `A line of the stream is longer than ${maxLine} characters`, { final: false }))
          return { kind: 'retry', reason: 'network', healthy }
        }
      }
      return { kind: 'retry', reason: failed ? 'server-error' : 'ended', healthy: healthy && !failed }
    } finally {
      if (watchdog !== undefined) clearTimeout(watchdog)
      this.stop.signal.removeEventListener('abort', abort)
    }
  }

  private attemptNative (): Promise<Outcome> {
    const Source = this.options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource
    if (Source === undefined) {
      return Promise.resolve({ kind: 'final', error: new EventStreamError('FVIEWS_ERR_CLIENT_REFUSED', "transport 'eventsource' needs a global EventSource or the EventSource option", { final: true }) })
    }
    return new Promise((resolve) => {
      const source = new Source(this.attemptUrl(true).href, { withCredentials: this.options.credentials === 'include' })
      const silenceMs = this.heartbeatMs(null)
      let healthy = false
      let failed = false
      let lastHeard = Date.now()
      let watchdog: ReturnType<typeof setTimeout> | undefined
      const end = (outcome: Outcome): void => {
        if (watchdog !== undefined) clearTimeout(watchdog)
        this.stop.signal.removeEventListener('abort', onStop)
        this.listenNative = undefined
        source.close()
        resolve(outcome)
      }
      const onStop = (): void => end({ kind: 'final', error: undefined })
      this.stop.signal.addEventListener('abort', onStop)
      if (silenceMs > 0) {
        const check = (): void => {
          const quiet = Date.now() - lastHeard
          if (quiet >= silenceMs) end({ kind: 'retry', reason: 'silent', healthy })
          else watchdog = setTimeout(check, silenceMs - quiet)
        }
        watchdog = setTimeout(check, silenceMs)
      }
      const heard = (): void => { lastHeard = Date.now() }
      const listen = (name: string): void => {
        source.addEventListener(name, (message) => {
          // EventSource's own 'error' (a failed connection) has no data; the server's `event: error` has.
          if (name === 'error' && typeof message.data !== 'string') return
          heard()
          healthy = true
          if (this.deliver({ type: name, data: message.data ?? '', lastEventId: message.lastEventId ?? '' })) failed = true
        })
      }
      const names = new Set([...this.listeners.keys(), 'error', ...(this.topicControl ? TOPIC_CONTROL : [])])
      for (const name of names) listen(name)
      this.listenNative = (name) => { if (!names.has(name)) { names.add(name); listen(name) } }
      source.addEventListener('open', () => { heard(); this.setState({ state: 'open' }) })
      source.addEventListener('error', (event) => {
        if (typeof event.data === 'string') return
        // CLOSED: it gave up (an error status, a wrong content type): a new one, after a backoff.
        // CONNECTING: it reconnects by itself, sending Last-Event-ID.
        if (source.readyState === 2) end({ kind: 'retry', reason: failed ? 'server-error' : 'status', healthy })
        else this.setState({ state: 'reconnecting', reason: failed ? 'server-error' : 'ended' })
      })
    })
  }

  /** Hands one event to its listeners; true when it was the server's `event: error` (the stream ends after it). */
  private deliver (event: Pick<ParsedEvent, 'type' | 'data' | 'lastEventId'>): boolean {
    // Closed (by a listener of an earlier event of the same chunk, an unmount, an abort): nothing more is
    // delivered, even of bytes already read (found by an outside review).
    if (this.stop.signal.aborted) return false
    this.lastEventId = event.lastEventId
    if (event.type === 'error') {
      const problem = defaultParse(event.data) as ProblemDocument
      const detail = typeof problem === 'object' && problem !== null ? problem.detail ?? problem.title : event.data
      this.reportError(new EventStreamError('FVIEWS_ERR_CLIENT_STREAM_FAILED', `The stream failed: ${String(detail)}`, {
        status: typeof problem === 'object' && problem !== null ? problem.status : undefined,
        problem: typeof problem === 'object' && problem !== null ? problem : undefined,
        final: false
      }))
      return true
    }
    if (this.topicControl && TOPIC_CONTROL.has(event.type)) {
      if (event.type === 'reset') {
        const info = defaultParse(event.data) as ResetInfo
        const meta: EventMeta<'reset'> = { event: 'reset', lastEventId: event.lastEventId, raw: event.data }
        // A copy, so listeners added meanwhile wait for the next event; one removed (or a close) meanwhile is not called.
        for (const listener of [...this.resetListeners]) {
          if (this.stop.signal.aborted || !this.resetListeners.has(listener)) continue
          this.safely(() => listener(info, meta))
        }
      }
      return false
    }
    const listeners = this.listeners.get(event.type)
    if (listeners === undefined || listeners.size === 0) return false
    const data = (this.options.parse ?? defaultParse)(event.data, event.type)
    const meta: EventMeta = { event: event.type, lastEventId: event.lastEventId, raw: event.data }
    for (const listener of [...listeners]) {
      if (this.stop.signal.aborted || !listeners.has(listener)) continue
      this.safely(() => listener(data, meta))
    }
    return false
  }
}
