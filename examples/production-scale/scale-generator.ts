/**
 * One load-generator process of scale-test.ts (started by it, with an IPC channel; not run by hand). It holds
 * its share of the SSE streams on `GET /events?topic=tasks` over raw node:net sockets spread over several
 * loopback source addresses, and checks on every receipt that each client gets every `task:created` id in
 * order, exactly once: the ids are consecutive (one Redis counter, one writer), so a client only needs the
 * next id it expects. A share of the clients can be told to stop reading (slow clients) and to read again;
 * a stream the server closes is reopened with its Last-Event-ID, as EventSource does, and must go on with
 * exactly the next id.
 *
 * Messages in: connect, slow (pause/resume), await (tell me when every client is past id X), report, close.
 * Messages out: connected, reached, report. Receive times are wall-clock ms (performance.timeOrigin +
 * performance.now(), the formula of the coordinator), taken once per socket read.
 */
import { connect, type Socket } from 'node:net'

interface ConnectMessage { type: 'connect', port: number, count: number, sources: string[], concurrency: number, slowEvery: number, firstId: number, maxEvents: number }
interface SlowMessage { type: 'slow', paused: boolean }
interface AwaitMessage { type: 'await', upTo: number, who: 'fast' | 'all', timeoutMs: number }
type Message = ConnectMessage | SlowMessage | AwaitMessage | { type: 'report', lastId: number } | { type: 'close' }

const wallNow = (): number => performance.timeOrigin + performance.now()
const send = (message: unknown): void => { process.send?.(message) }

let settings: ConnectMessage
const clients: Client[] = []
/** Per event (index id - firstId): the latest receipt among fast clients and among all clients. */
let lastAtFast = new Float64Array(0)
let lastAtAll = new Float64Array(0)
/** The pending `await`: how many clients of its kind are past `upTo`. */
let waiting: { upTo: number, who: 'fast' | 'all', done: number, target: number, timer: NodeJS.Timeout } | null = null
let closing = false

class Client {
  sock!: Socket
  /** Response parsing: 0 head, 1 body (chunked), 2 done/failed. */
  state = 0
  head = ''
  chunkLeft = 0
  skip = 0
  sizeLine = ''
  pending = ''
  now = 0
  subscribed = false
  lastEventId: string | undefined
  /** The id this client must receive next. */
  expect: number
  received = 0
  lost = 0
  dup = 0
  outOfOrder = 0
  resets = 0
  reconnects = 0
  failure: string | undefined
  onSubscribed: (() => void) | null = null

  constructor (readonly index: number, readonly slow: boolean) {
    this.expect = settings.firstId
  }

  open (): void {
    const source = settings.sources[this.index % settings.sources.length]
    this.state = 0
    this.head = ''
    this.chunkLeft = 0
    this.skip = 0
    this.sizeLine = ''
    this.pending = ''
    const sock = connect({ host: '127.0.0.1', port: settings.port, localAddress: source })
    this.sock = sock
    sock.setNoDelay(true)
    sock.on('connect', () => {
      const resume = this.lastEventId === undefined ? '' : `Last-Event-ID: ${this.lastEventId}\r\n`
      sock.write(`GET /events?topic=tasks HTTP/1.1\r\nHost: 127.0.0.1:${settings.port}\r\nAccept: text/event-stream\r\n${resume}\r\n`)
    })
    sock.on('data', (buf: Buffer) => this.onData(buf))
    sock.on('error', (error: NodeJS.ErrnoException) => this.fail(`socket: ${error.code ?? error.message}`))
    sock.on('close', () => {
      if (closing || this.sock !== sock) return
      if (!this.subscribed) return this.fail('closed before the stream opened')
      // The server ended the stream (slowness, a drain): reconnect and resume from the last id, as EventSource.
      this.reconnects++
      this.subscribed = false
      setTimeout(() => { if (!closing) this.open() }, 50)
    })
    if (this.slow && paused) sock.pause()
  }

  fail (reason: string): void {
    if (closing || this.state === 2) return
    this.failure ??= reason
    this.state = 2
    this.sock.destroy()
    this.onSubscribed?.()
  }

  onData (buf: Buffer): void {
    this.now = wallNow()
    let off = 0
    if (this.state === 0) {
      const before = this.head.length
      this.head += buf.toString('latin1')
      const end = this.head.indexOf('\r\n\r\n')
      if (end === -1) return
      const status = /^HTTP\/1\.1 (\d{3})/.exec(this.head)?.[1]
      if (status !== '200') return this.fail(`HTTP ${status ?? '?'}: ${this.head.slice(0, 200)}`)
      if (!/\r\ntransfer-encoding: chunked/i.test(this.head.slice(0, end + 2))) return this.fail('expected a chunked response')
      off = end + 4 - before
      this.head = ''
      this.state = 1
    }
    if (this.state === 1) this.dechunk(buf, off)
  }

  private dechunk (buf: Buffer, off: number): void {
    const len = buf.length
    while (off < len && this.state === 1) {
      if (this.chunkLeft > 0) {
        const n = Math.min(this.chunkLeft, len - off)
        this.text(buf.toString('utf8', off, off + n))
        off += n
        this.chunkLeft -= n
        if (this.chunkLeft === 0) this.skip = 2
      } else if (this.skip > 0) {
        const n = Math.min(this.skip, len - off)
        off += n
        this.skip -= n
      } else {
        const nl = buf.indexOf(10, off)
        if (nl === -1) {
          this.sizeLine += buf.toString('latin1', off, len)
          return
        }
        const size = parseInt(this.sizeLine + buf.toString('latin1', off, nl), 16)
        this.sizeLine = ''
        off = nl + 1
        if (Number.isNaN(size)) return this.fail('bad chunk size line')
        if (size === 0) return this.fail('the server ended the response')
        this.chunkLeft = size
      }
    }
  }

  private text (text: string): void {
    if (this.pending !== '') text = this.pending + text
    let from = 0
    for (let stop = text.indexOf('\n\n'); stop !== -1; stop = text.indexOf('\n\n', from)) {
      this.frame(text.slice(from, stop))
      from = stop + 2
    }
    this.pending = from >= text.length ? '' : text.slice(from)
  }

  /** One frame: `id:`, `event:`, `data:` lines; comments (heartbeats) have none of them. */
  private frame (frame: string): void {
    const id = field(frame, 'id: ')
    if (id !== undefined) this.lastEventId = id
    const event = field(frame, 'event: ')
    if (event === 'task:created') this.task((JSON.parse(field(frame, 'data: ') ?? 'null') as { id: number }).id)
    else if (event === 'subscribed') {
      this.subscribed = true
      const ready = this.onSubscribed
      this.onSubscribed = null
      ready?.()
    } else if (event === 'reset') {
      this.resets++
      this.failure ??= `reset: ${field(frame, 'data: ') ?? ''}`
    }
  }

  private task (id: number): void {
    if (id === this.expect) {
      this.expect++
      this.received++
      const i = id - settings.firstId
      if (i < lastAtAll.length) {
        if (this.now > lastAtAll[i]) lastAtAll[i] = this.now
        if (!this.slow && this.now > lastAtFast[i]) lastAtFast[i] = this.now
      }
      if (waiting !== null && id === waiting.upTo && (waiting.who === 'all' || !this.slow)) {
        if (++waiting.done === waiting.target) reached()
      }
    } else if (id < this.expect) {
      this.dup++ // an id at or before one already received: a duplicate or a late, reordered one
    } else {
      // A gap: the ids in between never came before this one (lost, or reordered if they come later).
      this.lost += id - this.expect
      this.outOfOrder++
      this.expect = id + 1
      this.received++
    }
  }
}

let paused = false

/** The value of the first `name` line of a frame (`name` includes the colon and space), without a split per frame. */
function field (frame: string, name: string): string | undefined {
  let at = frame.startsWith(name) ? 0 : frame.indexOf('\n' + name) + 1
  if (at === 0 && !frame.startsWith(name)) return undefined
  at += name.length
  const end = frame.indexOf('\n', at)
  return frame.slice(at, end === -1 ? frame.length : end)
}

function reached (): void {
  if (waiting === null) return
  clearTimeout(waiting.timer)
  send({ type: 'reached', upTo: waiting.upTo, ok: waiting.done === waiting.target, done: waiting.done, target: waiting.target })
  waiting = null
}

async function connectAll (message: ConnectMessage): Promise<void> {
  settings = message
  lastAtFast = new Float64Array(message.maxEvents)
  lastAtAll = new Float64Array(message.maxEvents)
  for (let i = 0; i < message.count; i++) clients.push(new Client(i, message.slowEvery > 0 && i % message.slowEvery === message.slowEvery - 1))
  const started = performance.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < clients.length) {
      const client = clients[next++]
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => client.fail('no `subscribed` event within 60 s'), 60_000)
        client.onSubscribed = () => { clearTimeout(timer); resolve() }
        client.open()
      })
    }
  }
  await Promise.all(Array.from({ length: Math.min(message.concurrency, clients.length) }, worker))
  const failed = clients.filter((client) => client.failure !== undefined)
  send({ type: 'connected', ms: performance.now() - started, connected: clients.length - failed.length, failed: failed.length, sample: failed.slice(0, 3).map((client) => client.failure) })
}

function onAwait (message: AwaitMessage): void {
  const kind = clients.filter((client) => message.who === 'all' || !client.slow)
  const done = kind.filter((client) => client.expect > message.upTo).length
  waiting = { upTo: message.upTo, who: message.who, done, target: kind.length, timer: setTimeout(reached, message.timeoutMs) }
  if (done === kind.length) reached()
}

function report (lastId: number): void {
  let lost = 0
  let dup = 0
  let outOfOrder = 0
  let resets = 0
  let reconnects = 0
  let failed = 0
  let slowReconnects = 0
  const samples: string[] = []
  for (const client of clients) {
    // Everything up to the last id the coordinator published must have arrived.
    lost += client.lost + Math.max(0, lastId + 1 - client.expect)
    dup += client.dup
    outOfOrder += client.outOfOrder
    resets += client.resets
    reconnects += client.reconnects
    if (client.slow) slowReconnects += client.reconnects
    if (client.failure !== undefined) {
      failed++
      if (samples.length < 3) samples.push(client.failure)
    }
  }
  send({
    type: 'report',
    clients: clients.length,
    slow: clients.filter((client) => client.slow).length,
    lost,
    dup,
    outOfOrder,
    resets,
    reconnects,
    slowReconnects,
    failed,
    samples,
    lastAtFast: Array.from(lastAtFast),
    lastAtAll: Array.from(lastAtAll),
    rss: process.memoryUsage().rss
  })
}

process.on('message', (message: Message) => {
  switch (message.type) {
    case 'connect': void connectAll(message); break
    case 'slow':
      paused = message.paused
      for (const client of clients) if (client.slow) { if (paused) client.sock.pause(); else client.sock.resume() }
      break
    case 'await': onAwait(message); break
    case 'report': report(message.lastId); break
    case 'close':
      closing = true
      for (const client of clients) client.sock.destroy()
      process.exit(0)
  }
})
// The coordinator gone (killed, Ctrl-C): nothing to hold the streams for.
process.on('disconnect', () => process.exit(0))
send({ type: 'started' })
