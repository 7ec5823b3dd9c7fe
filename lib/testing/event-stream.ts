/**
 * openEventStream(app, path): an event stream of an app, opened over real HTTP for a test. `app.inject()`
 * cannot test a stream (it answers once the response ends, and a topic stream never ends), so this opens a
 * socket: on the app's own server when it listens, otherwise on a loopback server of its own on an
 * ephemeral port that hands requests to the app (`app.routing`, Fastify's request handler), which it closes
 * with the stream. Each event is parsed as EventSource would parse it, kept in order, and awaited with a
 * timeout whose error says what was awaited and what had arrived; the raw bytes are kept for framing checks.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import { EventStreamParser, type ParsedEvent } from '../client/sse-parser.js'

/** Event name to data type: `{ price: { symbol: string, value: number } }`. */
export type EventMap = Record<string, unknown>

/** One received event, its data parsed (JSON by default) and typed by the event map. */
export interface TestEvent<Name extends string = string, Data = unknown> {
  /** The `event` field, or `message` when the frame has none. */
  event: Name
  data: Data
  /** The data as sent: the data lines joined by `\n`. */
  text: string
  /** The frame's own `id` field; undefined when it has none. */
  id: string | undefined
  /** The last event id after this frame (what EventSource would resume from). */
  lastEventId: string
  retry: number | undefined
}

/** The union of the events of a map: `next()` narrows on `event`. */
export type TestEventOf<M> = { [K in keyof M & string]: TestEvent<K, M[K]> }[keyof M & string]

/** What the helper needs of a Fastify instance (any server type, any type provider). */
export interface StreamableApp {
  readonly server: { readonly listening: boolean, address: () => AddressInfo | string | null }
  ready: () => PromiseLike<unknown>
  routing: (request: IncomingMessage, response: ServerResponse) => void
}

export interface OpenEventStreamOptions {
  /** Request headers (`authorization`, ...); `accept: text/event-stream` is sent unless given. */
  headers?: Record<string, string>
  /** Sent as the `Last-Event-ID` header, to test a resume. */
  lastEventId?: string
  /** How long the response head, `next()` and `take()` wait by default. Default 5000 ms. */
  timeoutMs?: number
  /** How `data` is parsed: `json` (the default; data that is not JSON fails `next()`), or `text`. */
  data?: 'json' | 'text'
}

export interface WaitOptions {
  timeoutMs?: number
}

export interface TestEventStream<M = EventMap> {
  /** `GET <path>`, for error messages. */
  readonly name: string
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** Every event received so far, in order (read or not). */
  readonly events: ReadonlyArray<TestEventOf<M>>
  /** Every comment received so far (heartbeats are `''`), without the leading `:`. */
  readonly comments: readonly string[]
  /** The last `retry` the server sent. */
  readonly retry: number | undefined
  /** The raw bytes received so far. */
  readonly bytes: Buffer
  /** The bytes received so far, decoded as UTF-8. */
  readonly text: string
  /** Whether the response has ended (the server closed it, or close() was called). */
  readonly ended: boolean
  /** The next event not read yet, waiting for it up to the timeout. */
  next: {
    (options?: WaitOptions): Promise<TestEventOf<M>>
    /** The next event named `name`; events of other names before it are read (and skipped). */
    <K extends keyof M & string>(name: K, options?: WaitOptions): Promise<TestEvent<K, M[K]>>
  }
  /** The next `count` events not read yet. */
  take: (count: number, options?: WaitOptions) => Promise<Array<TestEventOf<M>>>
  /** The whole body, once the response ended (an error answer, or a stream the server ends). */
  body: (options?: WaitOptions) => Promise<string>
  /** Closes the connection, and the server the helper opened, if it opened one. */
  close: () => Promise<void>
}

const DEFAULT_TIMEOUT_MS = 5000
const SHOWN_BYTES = 300

/** The loopback address of a listening server (`::` and `0.0.0.0` listen on loopback too). */
function loopbackOf (address: AddressInfo): { host: string, port: number } {
  const any = address.address === '::' || address.address === '0.0.0.0'
  if (address.family === 'IPv6' || address.family as unknown === 6) return { host: any ? '::1' : address.address, port: address.port }
  return { host: any ? '127.0.0.1' : address.address, port: address.port }
}

/** The app's own server when it listens; otherwise a loopback server of the helper's own that hands requests to the app. */
async function serverFor (app: StreamableApp): Promise<{ host: string, port: number, close: () => Promise<void> }> {
  const address = app.server.listening ? app.server.address() : null
  if (address !== null && typeof address === 'object') return { ...loopbackOf(address), close: async () => {} }
  if (app.server.listening) throw new TypeError('openEventStream: the app listens on a pipe or socket path; make it listen on a TCP port, or not at all')
  await app.ready()
  const server: Server = createServer((request, response) => app.routing(request, response))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  // Only its connections keep the process alive, not the listening socket.
  server.unref()
  const { port } = server.address() as AddressInfo
  let closed: Promise<void> | undefined
  return {
    host: '127.0.0.1',
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    }
  }
}

function describe (event: { event: string }): string {
  return event.event
}

/**
 * Opens `GET path` on `app` as an event stream and resolves once the response head has arrived (any
 * status: an error answer is read with `status`, `headers` and `body()`). Type the events with an event
 * map - `openEventStream<EventsOf<typeof PricesView>>(app, '/prices')` - to have `next()` return them typed.
 */
export async function openEventStream<M = EventMap> (app: StreamableApp, path: string, options: OpenEventStreamOptions = {}): Promise<TestEventStream<M>> {
  if (!path.startsWith('/')) throw new TypeError(`openEventStream: the path must start with '/', got ${JSON.stringify(path)}`)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const name = `GET ${path}`
  const target = await serverFor(app)
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers }
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId

  const request = httpRequest({ host: target.host, port: target.port, path, method: 'GET', headers, agent: false })
  let response: IncomingMessage
  try {
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`openEventStream: ${name} sent no response head within ${timeoutMs} ms`)), timeoutMs)
      request.once('response', (answer) => { clearTimeout(timer); resolve(answer) })
      request.once('error', (error) => { clearTimeout(timer); reject(error) })
      request.end()
    })
  } catch (error) {
    request.destroy()
    await target.close()
    throw error
  }

  const chunks: Buffer[] = []
  let size = 0
  let text = ''
  const events: Array<TestEventOf<M>> = []
  const comments: string[] = []
  let retry: number | undefined
  let ended = false
  let failure: Error | undefined
  let read = 0
  let wake: Array<() => void> = []
  const notify = (): void => { const waiting = wake; wake = []; for (const resolve of waiting) resolve() }

  const contentType = String(response.headers['content-type'] ?? '')
  const isEventStream = contentType.split(';')[0].trim().toLowerCase() === 'text/event-stream'
  // The client's parser (one for the package): events as EventSource dispatches them, plus comments.
  const parser = new EventStreamParser({
    event: (parsed: ParsedEvent) => {
      let data: unknown = parsed.data
      if (options.data !== 'text') {
        try { data = JSON.parse(parsed.data) } catch {
          failure ??= new Error(`openEventStream: ${name}: event #${events.length + 1} '${parsed.type}' has data that is not JSON: ${JSON.stringify(parsed.data.slice(0, SHOWN_BYTES))} (open the stream with { data: 'text' } to read it as text)`)
        }
      }
      events.push({ event: parsed.type, data, text: parsed.data, id: parsed.id, lastEventId: parsed.lastEventId, retry: parsed.retry } as TestEventOf<M>)
    },
    comment: (comment) => { comments.push(comment) },
    retry: (milliseconds) => { retry = milliseconds }
  })
  const decoder = new StringDecoder('utf8')
  // The parser's own decoder, as EventSource decodes: it drops one leading BOM (`text` keeps every byte).
  const eventDecoder = new TextDecoder()
  response.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    size += chunk.length
    text += decoder.write(chunk)
    if (isEventStream) parser.feed(eventDecoder.decode(chunk, { stream: true }))
    notify()
  })
  const finish = (): void => {
    if (ended) return
    ended = true
    notify()
    // The server ended the stream: nothing more can arrive, so the helper's own server may go.
    void target.close()
  }
  response.once('end', finish)
  response.once('close', finish)
  response.once('error', finish)

  let bytesCache: Buffer | undefined
  let bytesCacheSize = -1
  const bytes = (): Buffer => {
    if (bytesCacheSize !== size) { bytesCache = Buffer.concat(chunks, size); bytesCacheSize = size }
    return bytesCache as Buffer
  }

  /** The state of the stream, for an error message: what arrived, and the last bytes. */
  const received = (): string => {
    const names = events.map(describe)
    const shown = names.length > 20 ? [...names.slice(0, 10), `... ${names.length - 20} more ...`, ...names.slice(-10)] : names
    const tail = text.length > SHOWN_BYTES ? `...${text.slice(-SHOWN_BYTES)}` : text
    return `${events.length} event(s) received [${shown.join(', ')}], ${read} read; ${comments.length} comment(s); ` +
      `the stream ${ended ? 'has ended' : 'is open'}; the last bytes: ${JSON.stringify(tail)}`
  }

  /** Resolves once `ready()` holds; rejects on the timeout, the end of the stream or a parse failure, saying what was awaited. */
  const waitUntil = async (ready: () => boolean, awaited: string, wait: WaitOptions | undefined): Promise<void> => {
    if (!isEventStream) {
      throw new Error(`openEventStream: ${name} answered ${response.statusCode ?? '?'} ${contentType === '' ? 'without a content type' : contentType}, not an event stream, while awaiting ${awaited}: ${JSON.stringify((await body()).slice(0, SHOWN_BYTES))}`)
    }
    const limit = wait?.timeoutMs ?? timeoutMs
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; notify() }, limit)
    try {
      for (;;) {
        if (failure !== undefined) throw failure
        if (ready()) return
        if (timedOut) throw new Error(`openEventStream: ${name}: timed out after ${limit} ms awaiting ${awaited}; ${received()}`)
        if (ended) throw new Error(`openEventStream: ${name}: the stream ended while awaiting ${awaited}; ${received()}`)
        await new Promise<void>((resolve) => wake.push(resolve))
      }
    } finally {
      clearTimeout(timer)
    }
  }

  async function next (nameOrOptions?: string | WaitOptions, maybeOptions?: WaitOptions): Promise<TestEventOf<M>> {
    if (typeof nameOrOptions === 'string') {
      const wanted = nameOrOptions
      const found = (): boolean => {
        while (read < events.length && events[read].event !== wanted) read++
        return read < events.length
      }
      await waitUntil(found, `the next '${wanted}' event (#${read + 1} or later)`, maybeOptions)
    } else {
      await waitUntil(() => read < events.length, `the next event (#${read + 1})`, nameOrOptions)
    }
    return events[read++]
  }

  const take = async (count: number, wait?: WaitOptions): Promise<Array<TestEventOf<M>>> => {
    if (!Number.isSafeInteger(count) || count < 1) {
      // Named and bounded, so a miscomputed count (1.5, NaN, a string from a query) is found at the call, not by a timeout.
      const got = typeof count === 'string' ? JSON.stringify(count) : String(count)
      throw new TypeError(`openEventStream: take(count): 'count' is how many events to wait for, a whole number >= 1 (e.g. take(3)); got ${got}`)
    }
    const from = read
    await waitUntil(() => events.length >= from + count, `${count} more event(s) (#${from + 1} to #${from + count})`, wait)
    read = from + count
    return events.slice(from, from + count)
  }

  const body = async (wait?: WaitOptions): Promise<string> => {
    const limit = wait?.timeoutMs ?? timeoutMs
    if (!ended) {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), limit) })
      const done = new Promise<boolean>((resolve) => { const check = (): void => { if (ended) resolve(false); else wake.push(check) }; check() })
      const late = await Promise.race([timedOut, done])
      clearTimeout(timer)
      if (late) throw new Error(`openEventStream: ${name}: the response did not end within ${limit} ms; ${received()}`)
    }
    return text
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (!response.complete || !response.destroyed) {
        const gone = new Promise<void>((resolve) => { if (response.destroyed) resolve(); else response.once('close', () => resolve()) })
        request.destroy()
        response.destroy()
        await gone
      }
      finish()
      await target.close()
    })()
    return closing
  }

  const stream: TestEventStream<M> = {
    name,
    status: response.statusCode ?? 0,
    headers: response.headers,
    get events () { return events },
    get comments () { return comments },
    get retry () { return retry },
    get bytes () { return bytes() },
    get text () { return text },
    get ended () { return ended },
    next: next as TestEventStream<M>['next'],
    take,
    body,
    close
  }
  return stream
}
