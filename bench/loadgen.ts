/**
 * Load generator for the SSE fan-out benchmark (its own process; bench/run.ts starts it).
 *
 * Fan-out mode (default): holds N SSE connections over raw node:net sockets, publishes one event
 * (reach-all time) then K events of B bytes (throughput, latency), checks every client got every `tick`
 * in `seq` order, and prints one JSON line. See bench/README.md for what each figure means.
 *
 *   node --import tsx bench/loadgen.ts --port 3000 --n 1000 --k 100 --b 200
 *
 * Burst mode: one stream to one fast client (`GET /burst?m=M&b=B`), counts events and bytes.
 *
 *   node --import tsx bench/loadgen.ts --burst --port 3000 --m 1000000 --b 200
 *
 * It does not raise its own file limit: start it with `ulimit -n` raised (the runner does).
 * Only loopback addresses are used: the server host must be in 127.0.0.0/8 and the sources are 127.0.0.x.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { request } from 'node:http'
import { parseArgs } from 'node:util'

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    n: { type: 'string', default: '1000' },
    k: { type: 'string', default: '100' },
    b: { type: 'string', default: '200' },
    m: { type: 'string', default: '1000000' },
    burst: { type: 'boolean', default: false },
    repeats: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '256' },
    sources: { type: 'string', default: '8' },
    'settle-ms': { type: 'string', default: '1000' },
    'connect-timeout-ms': { type: 'string', default: '120000' },
    'reach-timeout-ms': { type: 'string', default: '30000' },
    'stall-timeout-ms': { type: 'string', default: '20000' },
    'burst-timeout-ms': { type: 'string', default: '180000' },
    'server-pid': { type: 'string' },
    'redis-pid': { type: 'string' }
  }
})

const HOST = opts.host!
const PORT = Number(opts.port)
if (!/^127\.\d+\.\d+\.\d+$/.test(HOST)) fatal(`host must be a loopback address (127.0.0.0/8), got ${HOST}`)
if (!Number.isInteger(PORT) || PORT <= 0) fatal('--port is required')
const int = (name: keyof typeof opts): number => {
  const v = Number(opts[name])
  if (!Number.isFinite(v) || v < 0) fatal(`bad --${name}`)
  return v
}

/** Wall-clock ms with a fraction, comparable to the server's `t` (same formula, other process). */
const wallNow = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------------------
// CPU time of another process (the server, its redis-server): utime + stime from /proc/<pid>/stat, in
// clock ticks (proc(5): fields 14 and 15, counted after the parenthesised command name, which may hold
// spaces). Read at both ends of the fan-out window, it is the server's own work for the deliveries in it,
// whether or not this load generator kept up.

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100

function cpuTicks(pid: number | null): number | null {
  if (pid === null) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields[0] is field 3 (state)
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}
const pidOpt = (name: 'server-pid' | 'redis-pid'): number | null => (opts[name] === undefined ? null : Number(opts[name]))
const SERVER_PID = pidOpt('server-pid')
const REDIS_PID = pidOpt('redis-pid')

function fatal(message: string): never {
  process.stdout.write(JSON.stringify({ ok: false, error: message }) + '\n')
  process.exit(2)
}

// ---------------------------------------------------------------------------------------------------------
// Control requests (publish, stats) over node:http: one fresh connection each, bounded by a timeout.

function control(method: 'GET' | 'POST', path: string, timeoutMs = 120_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port: PORT, method, path, agent: false, headers: { 'content-length': 0 } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8')
        if (res.statusCode !== 200) return reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`))
        try {
          resolve(JSON.parse(text))
        } catch {
          reject(new Error(`${method} ${path}: not JSON: ${text.slice(0, 200)}`))
        }
      })
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: timeout after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

interface ServerStats {
  connections: number
  rss: number
  heapUsed: number
  cpuMs?: number
}
const stats = (): Promise<ServerStats> => control('GET', '/stats', 60_000)

// ---------------------------------------------------------------------------------------------------------
// One HTTP/1.1 response over a raw socket: head, then (chunked or raw) body handed to `payload()`.

const HEAD = 0
const BODY = 1
const DONE = 2

abstract class RawResponse {
  state = HEAD
  head = ''
  status = 0
  contentType = ''
  chunked = false
  chunkLeft = 0
  skip = 0
  sizeLine = ''
  bytes = 0
  now = 0 // wall-clock receive time of the current read (taken once per read, not per event)
  error: string | null = null

  constructor(readonly sock: Socket) {}

  onData(buf: Buffer): void {
    this.bytes += buf.length
    this.now = wallNow()
    let off = 0
    if (this.state === HEAD) {
      const before = this.head.length
      this.head += buf.toString('latin1')
      const end = this.head.indexOf('\r\n\r\n')
      if (end === -1) {
        if (this.head.length > 65536) this.fail('response head too large')
        return
      }
      off = end + 4 - before
      this.head = this.head.slice(0, end)
      if (!this.parseHead()) return
      this.state = BODY
      this.onHead()
    }
    if (this.state !== BODY) return
    if (this.chunked) this.dechunk(buf, off)
    else if (off < buf.length) this.payload(buf, off, buf.length)
  }

  private parseHead(): boolean {
    const lines = this.head.split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0])
    if (!m) return this.fail(`bad status line: ${lines[0].slice(0, 80)}`)
    this.status = Number(m[1])
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':')
      if (colon === -1) continue
      const name = lines[i].slice(0, colon).trim().toLowerCase()
      const value = lines[i].slice(colon + 1).trim()
      if (name === 'transfer-encoding') this.chunked = value.toLowerCase().includes('chunked')
      else if (name === 'content-type') this.contentType = value.toLowerCase()
    }
    if (this.status !== 200) return this.fail(`HTTP ${this.status}`)
    if (!this.contentType.startsWith('text/event-stream')) return this.fail(`content-type ${this.contentType}`)
    return true
  }

  /** Chunked transfer decoding without copying: payload slices are handed on as (buf, start, end). */
  private dechunk(buf: Buffer, off: number): void {
    const len = buf.length
    while (off < len) {
      if (this.chunkLeft > 0) {
        const n = Math.min(this.chunkLeft, len - off)
        this.payload(buf, off, off + n)
        off += n
        this.chunkLeft -= n
        if (this.chunkLeft === 0) this.skip = 2 // CRLF after the chunk data
        continue
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - off)
        off += n
        this.skip -= n
        continue
      }
      const nl = buf.indexOf(10, off)
      if (nl === -1) {
        this.sizeLine += buf.toString('latin1', off, len)
        return
      }
      const line = this.sizeLine + buf.toString('latin1', off, nl)
      this.sizeLine = ''
      off = nl + 1
      const size = parseInt(line, 16) // stops at ';' extensions and the trailing CR
      if (Number.isNaN(size)) {
        this.fail(`bad chunk size line: ${JSON.stringify(line.slice(0, 40))}`)
        return
      }
      if (size === 0) {
        this.state = DONE
        this.onEnd()
        return
      }
      this.chunkLeft = size
    }
  }

  fail(message: string): false {
    if (this.error === null) this.error = message
    this.state = DONE
    this.onFail()
    this.sock.destroy()
    return false
  }

  abstract payload(buf: Buffer, start: number, end: number): void
  onHead(): void {}
  onEnd(): void {}
  onFail(): void {}
}

// ---------------------------------------------------------------------------------------------------------
// Fan-out mode.

/** Shared state of one measurement, updated from every client's data handler. */
const run = {
  phase: 0 as 0 | 1 | 2, // 0 connecting/settling, 1 reach-all event, 2 burst of K
  readyCount: 0,
  reachCount: 0,
  reachDoneAt: 0, // performance.now() of the receipt that completed the reach-all
  burstFirstSeq: Infinity, // seqs >= this belong to the burst (set from the reach-all publish answer)
  burstReceived: 0,
  burstTarget: Infinity,
  burstDoneAt: 0,
  burstFirstAt: 0, // performance.now() of the first burst delivery
  burstLastAt: 0, // ... and of the latest one
  lastProgressAt: 0,
  seenSize: 128, // per-client bitmap length (K + 1 events expected; grows if needed)
  lat: new Float64Array(0),
  latCount: 0,
  onProgress: null as null | (() => void),
  cpuAtDone: null as null | [number | null, number | null], // server and redis CPU ticks when the burst completed
  doneMonoUs: 0 // ... and the CLOCK_MONOTONIC time of it
}

/** CLOCK_MONOTONIC in microseconds: the clock of V8 CPU profiles, the same in every process. */
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n)

class SseClient extends RawResponse {
  pending = ''
  crlf = false
  ready = false
  closedByUs = false
  closedEarly = false
  // per-client delivery check
  base = 0 // seq of the first tick this client received
  maxSeq = 0
  seen: Uint8Array = new Uint8Array(0)
  received = 0
  dup = 0
  outOfOrder = 0
  otherFrames = 0
  malformed = 0
  badJson = 0
  onReady: (() => void) | null = null

  payload(buf: Buffer, start: number, end: number): void {
    if (!this.ready) {
      this.ready = true
      run.readyCount++
      if (this.onReady) this.onReady()
      if (buf.indexOf(13, start) !== -1 && buf.indexOf(13, start) < end) this.crlf = true
    }
    let text = buf.toString('latin1', start, end)
    if (this.pending.length !== 0) text = this.pending + text
    if (this.crlf) {
      // CRLF / CR line ends (allowed by the SSE spec; none of the current servers send them): normalize,
      // holding back a trailing CR whose LF may come in the next packet.
      const held = text.endsWith('\r')
      text = text.replace(/\r\n?/g, '\n')
      if (held) {
        this.pending = text.slice(0, -1) + '\r'
        return
      }
    }
    let from = 0
    for (;;) {
      const stop = text.indexOf('\n\n', from)
      if (stop === -1) break
      this.frame(text, from, stop)
      from = stop + 2
    }
    this.pending = from === 0 ? text : from >= text.length ? '' : text.slice(from)
    if (this.pending.length > 1 << 20) this.fail('no frame end (blank line) within 1 MiB')
  }

  /** One SSE frame text[s, e): find the event name and the first data line; only `tick` counts. */
  private frame(text: string, s: number, e: number): void {
    let isTick = false
    let ds = -1
    let de = -1
    let i = s
    while (i < e) {
      let nl = text.indexOf('\n', i)
      if (nl === -1 || nl > e) nl = e
      const c = text.charCodeAt(i)
      if (c === 101 && text.startsWith('event:', i)) {
        let v = i + 6
        if (text.charCodeAt(v) === 32) v++
        isTick = nl - v === 4 && text.startsWith('tick', v)
      } else if (c === 100 && ds === -1 && text.startsWith('data:', i)) {
        ds = i + 5
        if (text.charCodeAt(ds) === 32) ds++
        de = nl
      }
      i = nl + 1
    }
    if (!isTick) {
      this.otherFrames++
      return
    }
    if (ds === -1) {
      this.malformed++
      return
    }
    const sq = text.indexOf('"seq":', ds)
    const tq = text.indexOf('"t":', ds)
    if (sq === -1 || sq > de || tq === -1 || tq > de) {
      this.malformed++
      return
    }
    let seq = 0
    for (let j = sq + 6; ; j++) {
      const d = text.charCodeAt(j) - 48
      if (d < 0 || d > 9) break
      seq = seq * 10 + d
    }
    let te = tq + 4
    for (;;) {
      const c = text.charCodeAt(te)
      if ((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 43 || c === 101 || c === 69) te++
      else break
    }
    const t = Number(text.slice(tq + 4, te))
    if (this.received === 0) {
      // full JSON check once per client (the fast path above only reads seq and t)
      try {
        const parsed = JSON.parse(text.slice(ds, de))
        if (parsed.seq !== seq || parsed.t !== t || typeof parsed.p !== 'string') this.badJson++
      } catch {
        this.badJson++
      }
    }
    this.tick(seq, t)
  }

  private tick(seq: number, t: number): void {
    if (this.received === 0 && this.dup === 0 && this.outOfOrder === 0) {
      this.base = seq
      this.seen = new Uint8Array(run.seenSize)
    }
    const idx = seq - this.base
    if (idx < 0) {
      this.outOfOrder++ // earlier than the first tick this client saw
      return
    }
    if (idx >= this.seen.length) {
      const grown = new Uint8Array(Math.max(idx + 1, this.seen.length * 2))
      grown.set(this.seen)
      this.seen = grown
    }
    if (this.seen[idx] === 1) {
      this.dup++
      return
    }
    this.seen[idx] = 1
    if (seq < this.maxSeq) this.outOfOrder++
    else this.maxSeq = seq
    this.received++
    if (this.received === 1) {
      run.reachCount++
      if (run.phase === 1 && run.reachCount === run.readyCount) {
        run.reachDoneAt = performance.now()
        run.onProgress?.()
      }
    }
    if (seq >= run.burstFirstSeq) {
      if (run.latCount < run.lat.length) run.lat[run.latCount++] = this.now - t
      run.burstReceived++
      run.burstLastAt = performance.now()
      if (run.burstReceived === 1) run.burstFirstAt = run.burstLastAt
      if (run.burstReceived === run.burstTarget) {
        run.burstDoneAt = performance.now()
        run.cpuAtDone = [cpuTicks(SERVER_PID), cpuTicks(REDIS_PID)]
        run.doneMonoUs = monoUs()
        run.onProgress?.()
      }
    }
  }

  onFail(): void {
    if (!this.ready) this.onReady?.()
  }
}

function openClient(index: number, sources: string[], timeoutMs: number): Promise<SseClient> {
  return new Promise((resolve) => {
    const sock = connect({ host: HOST, port: PORT, localAddress: sources[index % sources.length] })
    const client = new SseClient(sock)
    const timer = setTimeout(() => client.fail(`no response within ${timeoutMs} ms`), timeoutMs)
    client.onReady = () => {
      clearTimeout(timer)
      client.onReady = null
      resolve(client)
    }
    sock.setNoDelay(true)
    sock.on('connect', () => {
      sock.write(`GET /sse HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`)
    })
    sock.on('data', (buf: Buffer) => client.onData(buf))
    sock.on('error', (err) => {
      client.fail(`socket: ${(err as NodeJS.ErrnoException).code ?? err.message}`)
    })
    sock.on('close', () => {
      if (!client.closedByUs) {
        client.closedEarly = true
        if (!client.ready) client.fail('closed before the first body bytes')
      }
    })
  })
}

/** Open `n` clients with at most `concurrency` in flight (connected but not yet ready). */
async function openAll(n: number, concurrency: number, sources: string[], deadline: number, perConnMs: number): Promise<SseClient[]> {
  const clients: SseClient[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < n && performance.now() < deadline) {
      const i = next++
      clients.push(await openClient(i, sources, Math.min(perConnMs, Math.max(1, deadline - performance.now()))))
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
  return clients
}

function closeAll(clients: SseClient[]): void {
  for (const c of clients) {
    c.closedByUs = true
    c.sock.destroy()
  }
}

/**
 * Wait until `done()`, or the deadline, or - once something has arrived (`progress()` > 0) - no progress for
 * stallMs. Before the first arrival only the deadline applies: a busy server may take long to start
 * delivering and that is a measurement, not a hang.
 */
async function waitFor(done: () => boolean, progress: () => number, deadlineMs: number, stallMs: number): Promise<'done' | 'timeout' | 'stalled'> {
  const start = performance.now()
  let last = progress()
  let lastChange = start
  while (!done()) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 50)
      run.onProgress = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    run.onProgress = null
    const t = performance.now()
    const p = progress()
    if (p !== last) {
      last = p
      lastChange = t
    }
    if (done()) break
    if (t - start > deadlineMs) return 'timeout'
    if (p > 0 && t - lastChange > stallMs) return 'stalled'
  }
  return 'done'
}

function percentile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

const round = (x: number | null, digits = 3): number | null => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits)))

async function fanout(): Promise<Record<string, unknown>> {
  const n = int('n')
  const k = int('k')
  const b = int('b')
  const sources = Array.from({ length: Math.max(1, int('sources')) }, (_, i) => `127.0.0.${i + 2}`)
  const concurrency = Math.max(1, int('concurrency'))
  const notes: string[] = []
  const result: Record<string, unknown> = { mode: 'fanout', n, k, b, sources: sources.length, concurrency }
  run.seenSize = k + 2

  // Warm-up: a few connections open and close, so the connect path is compiled before `rss before`. (No
  // publish here: its buffers would stay in the heap and hide part of the per-connection memory.)
  const warm = await openAll(Math.min(50, n), concurrency, sources, performance.now() + 30_000, 30_000)
  closeAll(warm)
  run.readyCount = 0
  const warmDeadline = performance.now() + 10_000
  let before = await stats()
  while (before.connections !== 0 && performance.now() < warmDeadline) {
    await sleep(100)
    before = await stats()
  }
  if (before.connections !== 0) notes.push(`server still reports ${before.connections} connections after the warm-up`)

  // Connect all.
  const t0 = performance.now()
  const deadline = t0 + int('connect-timeout-ms')
  const clients = await openAll(n, concurrency, sources, deadline, 30_000)
  const connectMs = performance.now() - t0
  const ready = clients.filter((c) => c.ready && c.error === null)
  const failed = n - ready.length
  const errorSamples = [...new Set(clients.filter((c) => c.error !== null).map((c) => c.error))].slice(0, 5)
  Object.assign(result, { connected: ready.length, connectFailed: failed, connectAllMs: round(connectMs, 1) })
  if (failed > 0) notes.push(`${failed} connections failed: ${errorSamples.join('; ')}`)

  await sleep(int('settle-ms'))
  const after = await stats()
  Object.assign(result, {
    serverConnections: after.connections,
    rssBefore: before.rss,
    rssAfter: after.rss,
    // RSS that fell while N connections opened is the allocator returning earlier memory, not a figure per
    // connection (seen once at N = 1,000 through Redis): no figure, and a note, rather than a negative one.
    memPerConnBytes: ready.length > 0 && after.rss >= before.rss ? Math.round((after.rss - before.rss) / ready.length) : null,
    heapPerConnBytes: ready.length > 0 ? Math.round((after.heapUsed - before.heapUsed) / ready.length) : null
  })
  if (after.rss < before.rss) notes.push(`server RSS fell while connecting (${(before.rss / 2 ** 20).toFixed(1)} -> ${(after.rss / 2 ** 20).toFixed(1)} MiB): no memory figure for this run`)
  if (after.connections !== ready.length) notes.push(`server reports ${after.connections} connections, client holds ${ready.length}`)

  // One event to all.
  run.phase = 1
  run.readyCount = ready.length
  run.reachCount = clients.reduce((sum, c) => sum + (c.received > 0 ? 1 : 0), 0)
  const r0 = performance.now()
  const one = await control('POST', '/publish?k=1&b=' + b)
  const reachState = await waitFor(() => run.reachCount >= run.readyCount, () => run.reachCount, int('reach-timeout-ms'), int('stall-timeout-ms'))
  Object.assign(result, {
    reachAllMs: reachState === 'done' ? round(run.reachDoneAt - r0, 2) : null,
    reachAllReceived: run.reachCount
  })
  if (reachState !== 'done') notes.push(`reach-all: ${reachState} with ${run.reachCount}/${run.readyCount} clients`)
  const firstSeq = Number(one.lastSeq)

  // K events of B bytes.
  await sleep(200)
  const mid = await stats()
  const midAt = performance.now()
  run.phase = 2
  run.burstFirstSeq = firstSeq + 1
  run.burstTarget = ready.length * k
  run.burstReceived = 0
  run.lat = new Float64Array(ready.length * k)
  run.latCount = 0
  const cpu0 = process.cpuUsage()
  run.cpuAtDone = null
  const [serverTicks0, redisTicks0] = [cpuTicks(SERVER_PID), cpuTicks(REDIS_PID)]
  const mono0 = monoUs()
  const p0 = performance.now()
  const publishing = control('POST', `/publish?k=${k}&b=${b}`, int('burst-timeout-ms'))
  let publishMs: number | null = null
  let publishAnswer: any = null
  let publishError: string | null = null
  publishing.then(
    (answer) => {
      publishMs = performance.now() - p0
      publishAnswer = answer
    },
    (err: Error) => {
      publishError = err.message
    }
  )
  const burstState = await waitFor(() => run.burstReceived >= run.burstTarget, () => run.burstReceived, int('burst-timeout-ms'), int('stall-timeout-ms'))
  // Not all delivered (lost events, timeout): rate up to the last delivery, so the wait does not dilute it.
  const burstEnd = burstState === 'done' ? run.burstDoneAt : run.burstLastAt > 0 ? run.burstLastAt : performance.now()
  const deliveredInTime = run.burstReceived
  // Not completed: the window ends now (an upper bound of the server's CPU for what it delivered).
  const [serverTicks1, redisTicks1] = run.cpuAtDone ?? [cpuTicks(SERVER_PID), cpuTicks(REDIS_PID)]
  const cpu = process.cpuUsage(cpu0)
  const waitedMs = performance.now() - p0
  // let the publish answer arrive (bounded) so lastSeq is known
  await waitFor(() => publishAnswer !== null || publishError !== null, () => 0, 30_000, 30_000)
  const lastSeq = publishAnswer ? Number(publishAnswer.lastSeq) : firstSeq + k
  if (publishError) notes.push(`publish: ${publishError}`)
  if (burstState !== 'done') notes.push(`burst: ${burstState} with ${run.burstReceived}/${run.burstTarget} deliveries`)
  await sleep(100) // catch stragglers (duplicates) before counting
  const end = await stats().catch(() => null)
  const endAt = performance.now()

  // Per-client delivery check over [firstSeq, lastSeq].
  let lost = 0
  let outOfOrder = 0
  let dup = 0
  let otherFrames = 0
  let malformed = 0
  let badJson = 0
  let closedEarly = 0
  const expected = lastSeq - firstSeq + 1
  for (const c of ready) {
    let got = 0
    for (let s = firstSeq; s <= lastSeq; s++) {
      const idx = s - c.base
      if (idx >= 0 && idx < c.seen.length && c.seen[idx] === 1) got++
    }
    lost += expected - got
    outOfOrder += c.outOfOrder
    dup += c.dup
    otherFrames += c.otherFrames
    malformed += c.malformed
    badJson += c.badJson
    if (c.closedEarly) closedEarly++
  }
  closeAll(clients)

  const deliverySec = (burstEnd - p0) / 1000
  const lat = run.lat.subarray(0, run.latCount).sort()
  Object.assign(result, {
    publishMs: round(publishMs, 1),
    deliveredMs: round(burstEnd - p0, 1),
    delivered: deliveredInTime,
    firstDeliveryMs: run.burstFirstAt > 0 ? round(run.burstFirstAt - p0, 1) : null,
    eventsPerSec: deliverySec > 0 ? Math.round(deliveredInTime / deliverySec) : null,
    latencyMs: {
      p50: round(percentile(lat, 0.5)),
      p99: round(percentile(lat, 0.99)),
      max: round(lat.length ? lat[lat.length - 1] : null),
      min: round(lat.length ? lat[0] : null),
      samples: lat.length
    },
    lost,
    outOfOrder,
    dup,
    malformed,
    badJson,
    otherFrames,
    closedEarly,
    firstSeq,
    lastSeq,
    rssAfterBurst: end?.rss ?? null,
    // Server CPU (utime + stime, /proc/<pid>/stat) from just before the burst's publish request to the
    // receipt that completed it, per delivered event; the tick is the resolution of both readings.
    clockTickMs: 1000 / CLK_TCK,
    // The same window on the clock of `node --cpu-prof` (bench/profile-summary.ts restricts a profile to it).
    fanoutWindowMonoUs: [mono0, run.doneMonoUs > 0 ? run.doneMonoUs : monoUs()],
    serverCpuMs: serverTicks0 !== null && serverTicks1 !== null ? ((serverTicks1 - serverTicks0) * 1000) / CLK_TCK : null,
    redisCpuMs: redisTicks0 !== null && redisTicks1 !== null ? ((redisTicks1 - redisTicks0) * 1000) / CLK_TCK : null,
    // CPU use of each process over the burst: the server's between the two /stats calls around it
    serverCpuBurstPct: end?.cpuMs !== undefined && mid.cpuMs !== undefined ? Math.round(((end.cpuMs - mid.cpuMs) / (endAt - midAt)) * 100) : null,
    loadgenCpuBurstPct: Math.round(((cpu.user + cpu.system) / 1000 / waitedMs) * 100),
    loadgenRss: process.memoryUsage().rss,
    valid: failed === 0 && lost === 0 && outOfOrder === 0 && dup === 0 && malformed === 0 && badJson === 0 && burstState === 'done' && reachState === 'done',
    notes
  })
  return result
}

// ---------------------------------------------------------------------------------------------------------
// Burst mode: one stream, one fast client. Counts frames (blank-line terminated) that are not comments
// or `retry:`-only frames, scanning Buffers for LF without building strings.

class BurstClient extends RawResponse {
  events = 0
  payloadBytes = 0
  lastNL = false
  frameFirst = -1
  firstByteAt = 0
  endedAt = 0
  onDone: (() => void) | null = null

  payload(buf: Buffer, start: number, end: number): void {
    if (this.firstByteAt === 0) this.firstByteAt = performance.now()
    this.payloadBytes += end - start
    let i = start
    while (i < end) {
      if (this.frameFirst === -1) this.frameFirst = buf[i]
      const j = buf.indexOf(10, i)
      if (j === -1 || j >= end) {
        this.lastNL = false
        return
      }
      if (this.lastNL && j === i) {
        // blank line: end of frame. Frames starting with ':' (comment), 'r' (retry) or LF are not events.
        const f = this.frameFirst
        if (f !== 58 && f !== 114 && f !== 10 && f !== 13) this.events++
        this.frameFirst = -1
        this.lastNL = false
      } else {
        this.lastNL = true
      }
      i = j + 1
    }
  }

  onEnd(): void {
    this.endedAt = performance.now()
    this.onDone?.()
  }

  onFail(): void {
    this.onDone?.()
  }
}

function burstOnce(m: number, b: number, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const sock = connect({ host: HOST, port: PORT, localAddress: '127.0.0.2' })
    const client = new BurstClient(sock)
    let t0 = 0
    const timer = setTimeout(() => client.fail(`timeout after ${timeoutMs} ms`), timeoutMs)
    client.onDone = () => {
      clearTimeout(timer)
      client.onDone = null
      sock.destroy()
      const ms = (client.endedAt || performance.now()) - t0
      const cpu = process.cpuUsage(cpu0)
      resolve({
        ok: client.error === null && client.events === m,
        error: client.error,
        events: client.events,
        payloadBytes: client.payloadBytes,
        wireBytes: client.bytes,
        ms: round(ms, 1),
        eventsPerSec: client.error === null ? Math.round(client.events / (ms / 1000)) : null,
        mbPerSec: client.error === null ? round(client.payloadBytes / 1e6 / (ms / 1000), 1) : null,
        loadgenCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / ms) * 100)
      })
    }
    sock.setNoDelay(true)
    let cpu0 = process.cpuUsage()
    sock.on('connect', () => {
      cpu0 = process.cpuUsage()
      t0 = performance.now()
      sock.write(`GET /burst?m=${m}&b=${b} HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\nAccept: text/event-stream\r\n\r\n`)
    })
    sock.on('data', (buf: Buffer) => client.onData(buf))
    sock.on('error', (err) => client.fail(`socket: ${(err as NodeJS.ErrnoException).code ?? err.message}`))
    sock.on('close', () => {
      if (client.state !== DONE) {
        // a server may end the stream by closing (no chunked terminator)
        if (!client.chunked && client.state === BODY) {
          client.state = DONE
          client.onEnd()
        } else client.fail('closed before the end of the stream')
      }
    })
  })
}

async function burst(): Promise<Record<string, unknown>> {
  const m = int('m')
  const b = int('b')
  const repeats = Math.max(1, int('repeats'))
  const timeoutMs = int('burst-timeout-ms')
  const warm = await burstOnce(Math.max(1, Math.min(100_000, Math.floor(m / 10))), b, timeoutMs)
  const runs: Record<string, unknown>[] = []
  for (let i = 0; i < repeats; i++) runs.push(await burstOnce(m, b, timeoutMs))
  const good = runs.filter((r) => r.ok).map((r) => r.eventsPerSec as number).sort((x, y) => x - y)
  const median = good.length ? good[Math.floor(good.length / 2)] : null
  const medianRun = runs.find((r) => r.eventsPerSec === median) ?? runs[0]
  return {
    mode: 'burst',
    m,
    b,
    repeats,
    valid: runs.every((r) => r.ok) && warm.ok === true,
    eventsPerSec: median,
    mbPerSec: medianRun.mbPerSec,
    ms: medianRun.ms,
    runs,
    notes: warm.ok ? [] : [`warm-up failed: ${String(warm.error)} (${String(warm.events)} events)`]
  }
}

// ---------------------------------------------------------------------------------------------------------

const hardStop = setTimeout(() => fatal('loadgen overall timeout'), 15 * 60_000)
hardStop.unref()
try {
  const out = opts.burst ? await burst() : await fanout()
  process.stdout.write(JSON.stringify({ ok: true, ...out }) + '\n')
  process.exit(0)
} catch (err) {
  fatal((err as Error).stack ?? String(err))
}
