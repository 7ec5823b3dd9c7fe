/**
 * Load test of the production-scale setup: holds N Server-Sent Events connections spread over the instances,
 * creates K tasks through one instance, and checks that every client received every `task:created` event,
 * in order, exactly once. Prints a summary, and as its last line the result as JSON; exits 1 on any loss.
 *
 *   npx tsx examples/production-scale/load-test.ts --clients 1000 --events 100
 *   npx tsx examples/production-scale/load-test.ts --targets http://127.0.0.1:8080     # through nginx
 *
 * Defaults: --targets is http://HOST:PORT and the next port (what start-local.sh starts), --clients 200,
 * --events 50. Raise `ulimit -n` for thousands of clients. (bench/ measures the library itself against
 * other SSE libraries; this script checks a deployment of the example.)
 */
import { request, type ClientRequest } from 'node:http'
import { parseArgs } from 'node:util'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)
const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: `http://${host}:${port},http://${host}:${port + 1}` },
    clients: { type: 'string', default: '200' },
    events: { type: 'string', default: '50' },
    'timeout-ms': { type: 'string', default: '30000' },
    keep: { type: 'boolean', default: false }
  }
})

function positive (name: string, raw: string): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name}: expected a positive integer, got '${raw}'`)
  return value
}
const targets = values.targets.split(',').map((target) => target.trim().replace(/\/$/, '')).filter((target) => target !== '')
const clientCount = positive('clients', values.clients)
const eventCount = positive('events', values.events)
const timeoutMs = positive('timeout-ms', values['timeout-ms'])

/** One SSE connection read with a minimal parser: events are split on blank lines, `data:` is JSON. */
class Client {
  /** Task ids of the `task:created` events received, in arrival order. */
  readonly ids: number[] = []
  readonly times: number[] = []
  subscribed = false
  failure: string | undefined
  private buffer = ''
  private req: ClientRequest | undefined
  private closing = false
  private refuse: ((error: Error) => void) | undefined

  constructor (readonly target: string, readonly onEvent: () => void) {}

  open (): Promise<void> {
    return new Promise((resolve, reject) => {
      this.refuse = reject
      const req = request(`${this.target}/events?topic=tasks`, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
        if (res.statusCode !== 200) { reject(new Error(`${this.target}: status ${res.statusCode}`)); res.resume(); return }
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          this.buffer += chunk
          let end: number
          while ((end = this.buffer.indexOf('\n\n')) >= 0) {
            this.frame(this.buffer.slice(0, end))
            this.buffer = this.buffer.slice(end + 2)
            if (this.subscribed) resolve()
          }
        })
        res.on('end', () => this.fail('the server ended the stream'))
        res.on('error', (error) => this.fail(error.message))
      })
      req.on('error', (error) => this.fail(error.message))
      req.end()
      this.req = req
    })
  }

  close (): void {
    this.closing = true
    this.req?.destroy()
  }

  private fail (reason: string): void {
    if (this.closing) return
    this.failure ??= reason
    // Before `subscribed` the connection is not open yet: the connect phase fails.
    if (!this.subscribed) this.refuse?.(new Error(`${this.target}: ${reason}`))
  }

  private frame (text: string): void {
    let event = 'message'
    let data = ''
    for (const line of text.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) data += line.slice(6)
    }
    if (event === 'subscribed') this.subscribed = true
    else if (event === 'task:created') {
      this.ids.push((JSON.parse(data) as { id: number }).id)
      this.times.push(performance.now())
      this.onEvent()
    } else if (event === 'reset') this.fail(`reset: ${data}`)
  }
}

async function call (method: string, url: string, body?: unknown): Promise<{ status: number, json: unknown }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await response.text()
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) }
}

const percentile = (sorted: number[], p: number): number => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
const ms = (value: number): string => `${value.toFixed(1)} ms`

async function main (): Promise<boolean> {
  console.log(`load test: ${clientCount} clients over ${targets.join(', ')}; ${eventCount} events published through ${targets[0]}`)
  let delivered = 0
  let allDelivered: () => void = () => {}
  const done = new Promise<void>((resolve) => { allDelivered = resolve })
  const clients = Array.from({ length: clientCount }, (_, i) => new Client(targets[i % targets.length], () => {
    if (++delivered === clientCount * eventCount) allDelivered()
  }))

  // Connect, at most 100 at a time.
  const connectStart = performance.now()
  for (let i = 0; i < clients.length; i += 100) await Promise.all(clients.slice(i, i + 100).map((client) => client.open()))
  const connectMs = performance.now() - connectStart
  console.log(`connected ${clientCount} clients in ${ms(connectMs)}`)

  // Publish: K tasks created one after another through the first instance; their ids are the expected order.
  const expected: number[] = []
  const sentAt: number[] = []
  const publishStart = performance.now()
  for (let k = 0; k < eventCount; k++) {
    sentAt.push(performance.now())
    const { status, json } = await call('POST', `${targets[0]}/tasks`, { title: `load test ${k + 1}` })
    if (status !== 201) throw new Error(`POST /tasks answered ${status}: ${JSON.stringify(json)}`)
    expected.push((json as { id: number }).id)
  }
  const publishMs = performance.now() - publishStart
  const timer = setTimeout(allDelivered, timeoutMs)
  await done
  clearTimeout(timer)
  const deliverMs = performance.now() - publishStart
  for (const client of clients) client.close()

  // Check every client: exactly the expected ids, in order.
  let lost = 0
  let duplicates = 0
  let outOfOrder = 0
  let failed = 0
  const latencies: number[] = []
  const position = new Map(expected.map((id, k) => [id, k]))
  for (const client of clients) {
    const seen = new Set<number>()
    let last = -1
    client.ids.forEach((id, i) => {
      const k = position.get(id)
      if (k === undefined) return // a task created by someone else meanwhile
      if (seen.has(id)) { duplicates++; return }
      seen.add(id)
      if (k < last) outOfOrder++
      last = k
      latencies.push(client.times[i] - sentAt[k])
    })
    lost += expected.length - seen.size
    if (client.failure !== undefined) failed++
  }
  latencies.sort((a, b) => a - b)
  const ok = lost === 0 && duplicates === 0 && outOfOrder === 0 && failed === 0
  console.log(`published ${eventCount} events in ${ms(publishMs)}; all ${clientCount * eventCount} deliveries took ${ms(deliverMs)} ` +
    `(${Math.round(clientCount * eventCount / (deliverMs / 1000))} events/s)`)
  console.log(`latency from publish request to client: p50 ${ms(percentile(latencies, 0.5))}, p99 ${ms(percentile(latencies, 0.99))}, max ${ms(latencies.at(-1) ?? 0)}`)
  console.log(`lost ${lost}, duplicates ${duplicates}, out of order ${outOfOrder}, failed connections ${failed}: ${ok ? 'OK' : 'FAILED'}`)
  const firstFailure = clients.find((client) => client.failure !== undefined)?.failure
  if (firstFailure !== undefined) console.log(`first connection failure: ${firstFailure}`)

  if (!values.keep) for (const id of expected) await call('DELETE', `${targets[0]}/tasks/${id}`)
  console.log(JSON.stringify({ ok, clients: clientCount, events: eventCount, targets, connectMs, publishMs, deliverMs, lost, duplicates, outOfOrder, failed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }))
  return ok
}

main().then((ok) => process.exit(ok ? 0 : 1), (error: Error) => {
  console.error(`load test failed: ${error.message}`)
  console.log(JSON.stringify({ ok: false, error: error.message }))
  process.exit(1)
})
