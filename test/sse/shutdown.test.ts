import t from 'tap'
import { connect as connectHttp2, constants } from 'node:http2'
import { setTimeout as wait } from 'node:timers/promises'
import { Type } from '@sinclair/typebox'
import { APIView, ServerSideEventsView } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { http, listen } from '../helpers/http.js'
import { deferred, frames, LogCapture, openStream, openStreams, rawRequest } from '../helpers/sse-http.js'
import { until } from '../helpers/wait.js'

/** Fails fast, rather than at the runner's timeout, when `promise` hangs. */
async function within<T> (promise: Promise<T>, what: string, limitMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} hangs`)), limitMs) })
  try {
    return await Promise.race([promise, hang])
  } finally {
    clearTimeout(timer)
  }
}

t.test('app.close() ends every open stream, runs every finally, and clients see a clean end', async (t) => {
  const order: string[] = []
  const reasons: Record<string, unknown> = {}
  class Idle extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      try {
        yield { data: 'idle', id: 'i1' }
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      } finally {
        reasons.idle = this.signal.reason
        order.push('idle finally')
      }
    }
  }
  class Sleeping extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      try {
        yield { data: 'sleeping', id: 's1' }
        await wait(3_600_000, undefined, { signal: this.signal })
      } finally {
        reasons.sleeping = this.signal.reason
        order.push('sleeping finally')
      }
    }
  }
  class Firehose extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      try {
        while (true) yield { data: 'x'.repeat(64 * 1024), id: null }
      } finally {
        reasons.firehose = this.signal.reason
        order.push('firehose finally')
      }
    }
  }
  const app = await buildApp(t, (router) => {
    router.registerView(Idle, { prefix: '/idle' }).registerView(Sleeping, { prefix: '/sleeping' }).registerView(Firehose, { prefix: '/firehose' })
  })
  const base = await listen(app)
  const idle = await openStream(base, '/idle')
  const sleeping = await openStream(base, '/sleeping')
  await idle.body.until('data: idle\n\n')
  await sleeping.body.until('data: sleeping\n\n')
  const stuck = await rawRequest(base, '/firehose') // a client that never reads: its stream cannot flush
  t.teardown(() => stuck.socket.destroy())
  await until(() => openStreams(app) === 3, 'three streams are open')

  await within(app.close(), 'app.close()')
  order.push('closed')
  t.same(order.slice(-1), ['closed'])
  t.same([...order].sort(), ['closed', 'firehose finally', 'idle finally', 'sleeping finally'], 'every finally ran before close() resolved')
  // The two waiting generators were woken by the signal; the firehose, paused at a yield, was stopped by
  // return() when its stream ended - with its signal already aborted, so its cleanup knows why.
  t.same(reasons, { idle: 'shutdown', sleeping: 'shutdown', firehose: 'shutdown' }, 'the signal says why')
  // close() resolved, so the server has no connection left: the never-reading client, which could not take
  // the end of its stream, was dropped after the flush grace period instead of holding close() forever.
  t.equal(await idle.body.all(), ': \n\nid: i1\ndata: idle\n\n', 'a clean end: no error, nothing cut')
  t.equal(await sleeping.body.all(), ': \n\nid: s1\ndata: sleeping\n\n')
  t.equal(openStreams(app), 0)
})

t.test('with drainMs, streams end spread over the window, each at its random moment, before close() resolves', async (t) => {
  const app = await buildApp(t, (router) => {
    router.registerView(class Waiting extends ServerSideEventsView({ data: Type.Integer() }) {
      async * events () {
        yield { data: Number(this.request.headers['x-client']), id: null }
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      }
    }, { prefix: '/waiting' })
  }, { configure: { drainMs: 1_000 } })
  const base = await listen(app)
  const streams = []
  for (const client of [0, 1, 2]) {
    const stream = await openStream(base, '/waiting', { 'x-client': String(client) })
    await stream.body.until(`data: ${client}\n\n`)
    streams.push(stream)
  }
  const ended: number[] = []
  streams.forEach((stream, client) => { void stream.body.done.then(() => ended.push(client)) })
  // Each stream's moment in the window is Math.random() * drainMs, drawn in the order the streams opened.
  const random = Math.random
  const moments = [0.9, 0.1, 0.5]
  Math.random = () => moments.shift() ?? random()
  try {
    await within(app.close(), 'app.close()')
  } finally {
    Math.random = random
  }
  t.same(moments, [], 'one random moment per stream')
  await Promise.all(streams.map((stream) => stream.body.done))
  t.same(ended, [1, 2, 0], 'the streams ended in the order of their moments: spread over the window, not all at once')
  for (const [client, stream] of streams.entries()) t.equal(await stream.body.all(), `: \n\ndata: ${client}\n\n`, `client ${client}: a clean end`)
})

t.test('a server-level handlerTimeout does not kill a stream; an ordinary route still times out', async (t) => {
  let yielded = 0
  class Paced extends ServerSideEventsView({ data: Type.Integer() }) {
    async * events () {
      for (let i = 1; ; i++) {
        await wait(20, undefined, { signal: this.signal })
        yielded = i
        yield { data: i, id: null }
      }
    }
  }
  class Slow extends APIView({ get: {} }) {
    async get () {
      await wait(1_000)
      return { late: true }
    }
  }
  const logs = new LogCapture()
  const app = await buildApp(t, (router) => { router.registerView(Paced, { prefix: '/paced' }).registerView(Slow, { prefix: '/slow' }) }, {
    fastify: { handlerTimeout: 50, logger: { level: 'info', stream: logs }, genReqId: () => 'rid-1' }
  })
  const base = await listen(app)
  const stream = await openStream(base, '/paced')
  // Twelve events paced by 20 ms timers: the stream has lived at least 240 ms, well past the 50 ms deadline.
  const text = await stream.body.until('\n\n', 13)
  t.same(frames(text).slice(0, 13), [': \n\n', ...Array.from({ length: 12 }, (_, i) => `data: ${i + 1}\n\n`)])
  t.equal(stream.body.error, undefined, 'the stream was not cut')
  t.ok(yielded >= 12)
  stream.body.close()

  const res = await http(base, 'GET', '/slow')
  t.same([res.status, res.headers['content-type']], [503, 'application/problem+json; charset=utf-8'], 'the ordinary route timed out')
  t.same(res.json(), { type: 'about:blank', title: 'Service Unavailable', status: 503, detail: "Request timed out after 50 ms on route '/slow'", instance: '/slow', code: 'FST_ERR_HANDLER_TIMEOUT' })
  const failed = await logs.waitFor((line) => line.msg === 'request failed')
  t.same([(failed.err as any).code, failed.route], ['FST_ERR_HANDLER_TIMEOUT', '/slow'], "it was Fastify's handler timeout")
})

t.test('HTTP/2: the stream flows without a connection header, and closing the client stream runs finally', async (t) => {
  const inFinally = deferred<boolean>()
  class Ticks extends ServerSideEventsView({ data: Type.Integer(), events: ['tick'] }) {
    async * events () {
      try {
        yield { event: 'tick' as const, data: 1, id: 1 }
        yield { event: 'tick' as const, data: 2, id: 2 }
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      } finally {
        inFinally.resolve(this.signal.aborted)
      }
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Ticks, { prefix: '/ticks' }) }, { fastify: { http2: true } as any }) // buildApp's options are typed for HTTP/1
  const base = await listen(app)
  const client = connectHttp2(base)
  t.teardown(() => client.close())
  const request = client.request({ ':path': '/ticks', ':method': 'GET' })
  request.setEncoding('utf8')
  const headers = await new Promise<Record<string, unknown>>((resolve) => request.once('response', resolve))
  t.equal(headers[constants.HTTP2_HEADER_STATUS], 200)
  t.equal(headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(headers['cache-control'], 'no-cache, no-transform')
  t.equal(headers.connection, undefined, 'no connection-specific header on HTTP/2')
  let text = ''
  const two = deferred()
  request.on('data', (chunk: string) => {
    text += chunk
    if (frames(text).length >= 3) two.resolve()
  })
  await two.promise
  t.equal(text, ': \n\nid: 1\nevent: tick\ndata: 1\n\nid: 2\nevent: tick\ndata: 2\n\n')
  t.equal(openStreams(app), 1)
  request.close(constants.NGHTTP2_CANCEL)
  t.equal(await inFinally.promise, true, 'finally ran with the signal aborted')
  await until(() => openStreams(app) === 0, 'the stream is unregistered')
})

t.test('a stream that opens while the app is closing ends at once instead of holding close() open', async (t) => {
  const entered = deferred()
  const gate = deferred()
  let ran = false
  class Late extends ServerSideEventsView({ data: Type.String() }) {
    async beforeStream () {
      entered.resolve()
      await gate.promise
    }

    async * events () {
      ran = true
      yield { data: 'late', id: null }
      await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
    }
  }
  class Open extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      yield { data: 'open', id: null }
      await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Late, { prefix: '/late' }).registerView(Open, { prefix: '/open' }) })
  const base = await listen(app)
  const open = await openStream(base, '/open')
  await open.body.until('data: open\n\n')
  const late = openStream(base, '/late')
  await entered.promise
  const closing = app.close()
  await open.body.done // the drain has run: the open stream has ended
  gate.resolve()
  const lateStream = await late
  await within(closing, 'app.close()')
  t.equal(lateStream.status, 200)
  t.equal(await lateStream.body.all(), ': \n\n', 'ended right after its opening, cleanly: EventSource reconnects elsewhere')
  t.equal(ran, false, 'its generator never started')
  t.equal(openStreams(app), 0)
})

t.test('HTTP/2: app.close() ends an open stream cleanly', async (t) => {
  const inFinally = deferred<unknown>()
  class Waiting extends ServerSideEventsView({ data: Type.Integer() }) {
    async * events () {
      try {
        yield { data: 1, id: 1 }
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      } finally {
        inFinally.resolve(this.signal.reason)
      }
    }
  }
  const app = await buildApp(t, (router) => { router.registerView(Waiting, { prefix: '/waiting' }) }, { fastify: { http2: true } as any })
  const base = await listen(app)
  const client = connectHttp2(base)
  client.on('error', () => {})
  t.teardown(() => client.close())
  const request = client.request({ ':path': '/waiting' })
  request.setEncoding('utf8')
  let text = ''
  const first = deferred()
  const ended = deferred<string>()
  request.on('data', (chunk: string) => { text += chunk; if (text.includes('data: 1\n\n')) first.resolve() })
  request.on('end', () => ended.resolve('end'))
  request.on('error', (error) => ended.resolve(`error ${error.message}`))
  await first.promise
  const closing = app.close()
  t.equal(await inFinally.promise, 'shutdown')
  t.equal(await ended.promise, 'end', 'the client stream ended cleanly')
  t.equal(text, ': \n\nid: 1\ndata: 1\n\n')
  t.equal(openStreams(app), 0)
  // Fastify's close() then waits for the client to close its HTTP/2 session, as for any HTTP/2 app
  // (even one without streams): the client here does, once its stream has ended.
  client.close()
  await within(closing, 'app.close()')
})

t.test('app.close() waits for a generator cleanup that awaits, and gives up on one that never ends, naming its route', async (t) => {
  const order: string[] = []
  const logs = new LogCapture()
  class Publishing extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      try {
        yield { data: 'publishing', id: 'p1' }
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      } finally {
        // A cleanup that tells others the client left: it must run before the app (and its broker) is gone.
        await wait(300)
        order.push('publishing finally done')
      }
    }
  }
  class Stuck extends ServerSideEventsView({ data: Type.String() }) {
    async * events () {
      try {
        yield { data: 'stuck', id: 's1' }
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
      } finally {
        await new Promise(() => {}) // never ends: close() must not wait for it for ever
      }
    }
  }
  const app = await buildApp(t, (router) => {
    router.registerView(Publishing, { prefix: '/publishing' }).registerView(Stuck, { prefix: '/stuck' })
  }, { fastify: { logger: { level: 'warn', stream: logs } } })
  const base = await listen(app)
  const publishing = await openStream(base, '/publishing')
  const stuck = await openStream(base, '/stuck')
  await publishing.body.until('data: publishing\n\n')
  await stuck.body.until('data: stuck\n\n')
  await within(app.close(), 'app.close()', 15_000)
  order.push('closed')
  t.same(order, ['publishing finally done', 'closed'], 'the awaiting cleanup finished before close() resolved')
  const warning = logs.matching((line) => line.msg?.startsWith('event stream cleanups still running') === true)
  t.equal(warning.length, 1, 'the cleanup that never ends is logged once')
  t.same([warning[0]?.routes, warning[0]?.count, warning[0]?.graceMs], [['/stuck'], 1, 5_000], 'naming its route')
  t.equal(await publishing.body.all(), ': \n\nid: p1\ndata: publishing\n\n')
  t.equal(await stuck.body.all(), ': \n\nid: s1\ndata: stuck\n\n')
})
