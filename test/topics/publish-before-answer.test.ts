/**
 * issue 11 #12 and #10: publishEvent holds the answer until the broker accepted the event, whatever way the
 * handler answers (returns a value, calls reply.send and returns reply, calls reply.send and returns nothing,
 * sends later from a callback), publishes exactly the data it sends, and a publish that fails turns the answer
 * into a 503 that says the change was applied - with no Retry-After inviting a blind retry.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { APIView, createApp, FVIEWS_ERR_BROKER_UNAVAILABLE, MemoryBroker, publishEvent, ViewRouter } from '../../lib/index.js'
import { http, listen } from '../helpers/http.js'
import { take } from '../broker/contract.js'

const PROBLEM = 'application/problem+json; charset=utf-8'
const TASK = { id: 1, title: 'write tests' }

/** A real memory broker whose publish takes a while (injected latency) and can be made to fail; it logs the order of things. */
function slowBroker (log: string[]) {
  const broker = new MemoryBroker()
  const original = broker.publish.bind(broker) as (...args: unknown[]) => Promise<unknown>
  const control = { fail: undefined as Error | undefined }
  ;(broker as { publish: unknown }).publish = async (...args: unknown[]) => {
    log.push('publish')
    await new Promise((resolve) => setTimeout(resolve, 150))
    if (control.fail !== undefined) throw control.fail
    const result = await original(...args)
    log.push('accepted')
    return result
  }
  return { broker, control }
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown

/** Every way a plain Fastify handler answers. */
const handlerForms: Array<[string, Handler]> = [
  ['an async handler returning the value', async (_request, reply) => { reply.code(201); return TASK }],
  ['an async handler calling reply.send(x) and returning reply', async (_request, reply) => reply.code(201).send(TASK)],
  ['an async handler calling reply.send(x) without returning', async (_request, reply) => { reply.code(201).send(TASK) }],
  ['a sync handler returning the value', (_request, reply) => { reply.code(201); return TASK }],
  ['a sync handler sending later from a callback', (_request, reply) => { setImmediate(() => reply.code(201).send(TASK)) }],
  ['an async handler sending later from a callback and returning reply', async (_request, reply) => { setImmediate(() => reply.code(201).send(TASK)); return reply }]
]

/** Every way a view method answers. */
class ReturnsValue extends APIView({ post: { response: { 201: Type.Object({ id: Type.Integer(), title: Type.String() }) } } }) {
  @publishEvent({ topic: 'tasks', event: 'task:created' })
  post () { return TASK }
}
class SendsAndReturnsReply extends APIView({ post: { response: { 201: Type.Object({ id: Type.Integer(), title: Type.String() }) } } }) {
  @publishEvent({ topic: 'tasks', event: 'task:created' })
  async post () { return this.reply.code(201).send(TASK) as any }
}
class SendsWithoutReturning extends APIView({ post: { response: { 201: Type.Object({ id: Type.Integer(), title: Type.String() }) } } }) {
  @publishEvent({ topic: 'tasks', event: 'task:created' })
  async post (): Promise<any> { this.reply.code(201).send(TASK) }
}
const viewForms: Array<[string, typeof ReturnsValue]> = [
  ['a view method returning the value', ReturnsValue],
  ['a view method calling this.reply.send(x) and returning the reply', SendsAndReturnsReply as any],
  ['a view method calling this.reply.send(x) without returning', SendsWithoutReturning as any]
]

async function appFor (t: { teardown: (fn: () => unknown) => void }, mount: (app: Awaited<ReturnType<typeof createApp>>) => Promise<void> | void) {
  const log: string[] = []
  const { broker, control } = slowBroker(log)
  // Warnings such as FST_ERR_REP_ALREADY_SENT would mean the hold answered twice.
  const warnings: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { const line = JSON.parse(String(chunk)); if (line.level >= 40) warnings.push(line.msg); done() } })
  const app = await createApp({ env: {}, broker, fastify: { logger: { level: 'warn', stream } } })
  t.teardown(async () => { await app.close(); await broker.close() })
  await mount(app)
  const base = await listen(app)
  const events = app.broker.subscribe(['tasks'])
  t.teardown(() => events.return())
  await take(events, 1) // `subscribed`
  return { base, log, control, events, warnings }
}

const forms: Array<[string, (app: Awaited<ReturnType<typeof createApp>>) => Promise<void> | void]> = [
  ...handlerForms.map(([name, handler]): [string, (app: Awaited<ReturnType<typeof createApp>>) => void] =>
    [name, (app) => { app.post('/tasks', publishEvent({ topic: 'tasks', event: 'task:created' })(handler)) }]),
  ...viewForms.map(([name, View]): [string, (app: Awaited<ReturnType<typeof createApp>>) => Promise<void>] =>
    [name, async (app) => { await app.register(new ViewRouter().registerView(View, { prefix: '/tasks' }).plugin) }])
]

for (const [name, mount] of forms) {
  t.test(`${name}: the answer leaves after the broker accepted the event, and the event carries the sent body`, async (t) => {
    const { base, log, events, warnings } = await appFor(t, mount)
    const res = await http(base, 'POST', '/tasks')
    log.push('response')
    t.equal(res.status, 201)
    t.same(log, ['publish', 'accepted', 'response'], 'no 2xx before the broker accepted the event')
    const [event] = await take(events, 1)
    t.same([event.event, event.data], ['task:created', res.json()], 'the published data is the body that was sent')
    t.same(res.json(), TASK)
    t.same(warnings, [], 'answered once')
  })

  t.test(`${name}: a publish that fails answers 503 saying the change was applied, without Retry-After`, async (t) => {
    const { base, log, control, warnings } = await appFor(t, mount)
    control.fail = new FVIEWS_ERR_BROKER_UNAVAILABLE('the connection to Redis is down')
    const res = await http(base, 'POST', '/tasks')
    t.equal(res.status, 503)
    t.equal(res.headers['content-type'], PROBLEM)
    t.equal(res.headers['retry-after'], undefined, 'no invitation to repeat a change that was applied')
    t.same(log, ['publish'])
    t.same(res.json(), {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: "The change was applied, but its 'task:created' event could not be published: the event broker is unavailable. " +
        'Do not repeat the request; read the current state instead.',
      instance: '/tasks',
      code: 'FVIEWS_ERR_EVENT_NOT_PUBLISHED',
      applied: true,
      publication: 'failed',
      event: 'task:created',
      topics: ['tasks']
    })
    t.same(warnings, ['publishEvent: the change was applied but its event could not be published', 'request failed'], 'logged, answered once')
  })
}

t.test('a handler that answers twice: the first answer is held, published and sent; the second is dropped with a warning', async (t) => {
  const { base, log, events, warnings } = await appFor(t, (app) => {
    app.post('/tasks', publishEvent({ topic: 'tasks', event: 'task:created' })(async (_request, reply) => {
      reply.code(201).send(TASK)
      reply.send({ id: 2, title: 'second' })
    }))
  })
  const res = await http(base, 'POST', '/tasks')
  log.push('response')
  t.same([res.status, res.json()], [201, TASK])
  t.same(log, ['publish', 'accepted', 'response'])
  const [event] = await take(events, 1)
  t.same(event.data, TASK)
  t.same(warnings, ['publishEvent: the reply was already sent; this second answer is dropped'])
})

t.test("a publish whose outcome the broker cannot confirm answers 503 FVIEWS_ERR_EVENT_UNCONFIRMED, saying the change was applied", async (t) => {
  const { base, control, warnings } = await appFor(t, (app) => {
    app.post('/tasks', publishEvent({ topic: ['tasks', 'task:1'], event: 'task:created' })(async (_request, reply) => reply.code(201).send(TASK)))
  })
  // The Redis broker's error when Redis went silent after the publish was sent (lib/broker/redis.ts).
  control.fail = Object.assign(new FVIEWS_ERR_BROKER_UNAVAILABLE("publishing to 'tasks' is unconfirmed: Redis did not answer within 6000 ms"), { published: 'unknown' })
  const res = await http(base, 'POST', '/tasks')
  t.same([res.status, res.headers['content-type'], res.headers['retry-after']], [503, PROBLEM, undefined])
  t.same(res.json(), {
    type: 'about:blank',
    title: 'Service Unavailable',
    status: 503,
    detail: "The change was applied, but whether its 'task:created' event was published is unknown: the event broker did not confirm it. " +
      'Do not repeat the request; read the current state instead.',
    instance: '/tasks',
    code: 'FVIEWS_ERR_EVENT_UNCONFIRMED',
    applied: true,
    publication: 'unknown',
    event: 'task:created',
    topics: ['tasks', 'task:1']
  })
  t.notMatch(res.text, /Redis|6000/, 'the broker\'s own words stay in the log')
  t.same(warnings, ['publishEvent: the change was applied but its event could not be published', 'request failed'])
})

t.test('a handler that hijacks the reply and answers on the raw response publishes nothing and says so', async (t) => {
  const { base, log, warnings } = await appFor(t, (app) => {
    app.post('/tasks', publishEvent({ topic: 'tasks', event: 'task:created' })(async (_request, reply) => {
      reply.hijack()
      reply.raw.writeHead(200, { 'content-type': 'text/plain' })
      reply.raw.end('raw')
    }))
  })
  const res = await http(base, 'POST', '/tasks')
  t.same([res.status, res.text], [200, 'raw'])
  t.same(log, [], 'no publish of a body it never saw')
  t.same(warnings, ['publishEvent: the handler answered without reply.send (hijacked); nothing was published'])
})

t.test('concurrent requests of every form, random publish latency and failures: a 201 only after its own event was accepted, a 503 with none', async (t) => {
  const { default: fc } = await import('fast-check')
  const accepted = new Map<number, unknown>()
  const broker = new MemoryBroker()
  const original = broker.publish.bind(broker) as (...args: unknown[]) => Promise<unknown>
  const plan = new Map<number, { delayMs: number, fail: boolean }>()
  ;(broker as { publish: unknown }).publish = async (...args: unknown[]) => {
    const data = args[2] as { id: number }
    const { delayMs, fail } = plan.get(data.id)!
    await new Promise((resolve) => setTimeout(resolve, delayMs))
    if (fail) throw new FVIEWS_ERR_BROKER_UNAVAILABLE('injected')
    const result = await original(...args)
    accepted.set(data.id, data)
    return result
  }
  const app = await createApp({ env: {}, broker, fastify: { logger: false } })
  t.teardown(async () => { await app.close(); await broker.close() })
  handlerForms.forEach((_entry, form) => {
    // The same forms, answering with the request's own id so that every answer and event can be paired.
    app.post(`/form/${form}/:id`, publishEvent({ topic: 'tasks', event: 'task:created' })(async (request, reply) => {
      const task = { id: Number((request.params as { id: string }).id), title: `form ${form}` }
      const sendLater = (): void => { setImmediate(() => reply.code(201).send(task)) }
      switch (form) {
        case 0: reply.code(201); return task
        case 1: return reply.code(201).send(task)
        case 2: reply.code(201).send(task); return
        case 3: reply.code(201); return task
        case 4: sendLater(); return reply
        default: sendLater(); return reply
      }
    }))
  })
  const base = await listen(app)
  let next = 0
  await fc.assert(fc.asyncProperty(
    fc.array(fc.record({ form: fc.integer({ min: 0, max: handlerForms.length - 1 }), delayMs: fc.integer({ min: 0, max: 30 }), fail: fc.boolean() }), { minLength: 1, maxLength: 12 }),
    async (requests) => {
      const ids = requests.map((request) => { const id = ++next; plan.set(id, request); return id })
      const answers = await Promise.all(requests.map(async (request, i) => {
        const res = await http(base, 'POST', `/form/${request.form}/${ids[i]}`)
        // Checked the moment the answer arrived: was its event already accepted?
        return { res, acceptedBefore: accepted.has(ids[i]) }
      }))
      answers.forEach(({ res, acceptedBefore }, i) => {
        if (requests[i].fail) {
          if (res.status !== 503 || acceptedBefore || res.json().code !== 'FVIEWS_ERR_EVENT_NOT_PUBLISHED') throw new Error(`request ${ids[i]}: ${res.status} ${res.text}`)
        } else {
          if (res.status !== 201 || !acceptedBefore) throw new Error(`request ${ids[i]} (form ${requests[i].form}): ${res.status} before its event was accepted: ${String(acceptedBefore)}`)
          t.same(accepted.get(ids[i]), res.json())
        }
      })
    }), { seed: 1112, numRuns: 25 })
})
