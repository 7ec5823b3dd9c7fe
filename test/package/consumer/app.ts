// A service as a user writes it against the packed package: strict, noImplicitOverride, declarations
// emitted (so every type in an exported signature must be nameable), no top-level await (CommonJS too).
// `app.broker` and `app.topicMetrics` are typed by the package's module augmentation, which must load
// from the main entry alone, in every resolution mode.
import { Type, type Static } from '@sinclair/typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import {
  APIView, ListCreateView, MemoryBroker, ServerSideEventsView, SubscriptionView, ViewRouter, createApp, fastifyViews,
  publishEvent, type EventOf, type PublishResult, type SSEContext, type TopicMetrics
} from 'fastify-views'

const Task = Type.Object({ id: Type.Integer(), title: Type.String() }, { $id: 'Task' })
const TaskCreate = Type.Object({ title: Type.String({ minLength: 1 }) }, { $id: 'TaskCreate' })
const tasks = new Map<number, Static<typeof Task>>()

export class Hello extends APIView({
  querystring: Type.Object({ name: Type.String() }),
  get: { response: { 200: Type.Object({ message: Type.String() }) } }
}) {
  override async get () { return { message: `hello ${this.query.name}` } }
}

export class Tasks extends ListCreateView({ model: Task, create: TaskCreate }) {
  override list () { return [...tasks.values()] }

  @publishEvent({ topic: ({ result }) => `task:${result.id}`, event: 'task:created' })
  override create (body: Static<typeof TaskCreate>) {
    const task = { id: tasks.size + 1, title: body.title }
    tasks.set(task.id, task)
    return task
  }
}

const Tick = { data: Type.Integer(), events: ['tick'] } as const
export class Ticks extends ServerSideEventsView(Tick) {
  override async * events (_ctx: SSEContext<typeof Tick>): AsyncGenerator<EventOf<typeof Tick>> {
    yield { event: 'tick', data: 1, id: null }
  }
}

export const router = new ViewRouter()
router.registerView(Hello, { prefix: '/hello' })
router.registerView(Tasks, { prefix: '/tasks' })
router.registerView(Ticks, { prefix: '/ticks' })
router.registerView(SubscriptionView({ authorize: () => true }), { prefix: '/events' })

export async function build (): Promise<FastifyInstance> {
  const app = await createApp({ title: 'consumer', env: {}, healthPath: '/health' })
  await app.register(router.plugin)
  return app
}

async function main (): Promise<void> {
  const app = await build()
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const results: Record<string, unknown> = {}
  results.hello = await (await fetch(`${base}/hello?name=consumer`)).json()
  const created = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"x"}' })
  results.created = [created.status, await created.json()]
  results.ticks = await (await fetch(`${base}/ticks`)).text()
  const published: PublishResult = await app.broker.publish('tasks', 'task:created', { id: 1 })
  const metrics: TopicMetrics = app.topicMetrics
  results.createApp = [published.topic, published.offset, metrics.openConnections]
  await app.close()
  // The plugin on a plain Fastify instance, with a broker of the app's own.
  const plain = Fastify()
  const broker = new MemoryBroker()
  await plain.register(fastifyViews, { broker })
  const first = await plain.broker.publish('tasks', 'task:created', { id: 1 })
  results.plugin = [first.topic, first.offset, plain.topicMetrics.connectionsTotal]
  await plain.close()
  await broker.close() // the app's own: the plugin leaves it open
  // Redis asked for, ioredis not installed: a startup error that names the setting and the fix.
  try {
    await createApp({ env: {}, redisUrl: 'redis://127.0.0.1:1' })
    results.redis = 'started'
  } catch (error) {
    results.redis = [(error as { code?: string }).code, /npm i ioredis/.test((error as Error).message)]
  }
  process.stdout.write(JSON.stringify(results))
}

// Run as a script only (out/testing.js imports this module for its app).
if (/app\.js$/.test(process.argv[1] ?? '')) main().catch((error: unknown) => { console.error(error); process.exit(1) })
