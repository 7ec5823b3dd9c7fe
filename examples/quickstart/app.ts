/**
 * Quickstart (fastapi-sse-events' quick start, in TypeScript): a task API whose changes are announced on
 * topics, a subscription endpoint, and a page that keeps itself current from the events.
 *
 * - `Tasks` is one ModelViewSet; `@publishEvent` on its writes publishes `{ id }` to the topics `tasks` and
 *   `task:<id>` once the change is made (a publish that fails turns the answer into a 503, never a silent 2xx).
 * - `GET /events?topic=tasks` is the built-in SubscriptionView: every event id is a resume cursor, so a client
 *   that reconnects receives exactly what it missed (or one `reset` event when that cannot be replayed).
 * - The events carry only ids: clients read the task itself over REST (notify, then fetch).
 */
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { serveClientScript } from '../client-script.js'
import { createApp, ModelViewSet, publishEvent, SubscriptionView, ViewRouter, type CreateAppOptions, type MaybePromise, type PublishContext } from '../../lib/index.js'

export const Task = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  title: Type.String({ minLength: 1, maxLength: 200 }),
  done: Type.Boolean()
}, { $id: 'Task', description: 'A task' })
export const TaskCreate = Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }) }, { $id: 'TaskCreate', additionalProperties: false })
export const TaskUpdate = Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }), done: Type.Boolean() }, { $id: 'TaskUpdate', additionalProperties: false })
export type Task = Static<typeof Task>

/** Where tasks live. Each method may answer at once or with a promise (a database). */
export interface TaskRepository {
  all (): MaybePromise<Task[]>
  get (id: number): MaybePromise<Task | undefined>
  add (title: string): MaybePromise<Task>
  change (id: number, fields: Partial<Omit<Task, 'id'>>): MaybePromise<Task | undefined>
  remove (id: number): MaybePromise<boolean>
}

/** The tasks in a Map, so the example runs with nothing installed (production-scale keeps them in Redis). */
export class TaskStore implements TaskRepository {
  private readonly tasks = new Map<number, Task>()
  private nextId = 1

  all (): Task[] { return [...this.tasks.values()] }
  get (id: number): Task | undefined { return this.tasks.get(id) }

  add (title: string): Task {
    const task = { id: this.nextId++, title, done: false }
    this.tasks.set(task.id, task)
    return task
  }

  change (id: number, fields: Partial<Omit<Task, 'id'>>): Task | undefined {
    const task = this.tasks.get(id)
    if (task !== undefined) Object.assign(task, fields)
    return task
  }

  remove (id: number): boolean { return this.tasks.delete(id) }
}

/** The changed task's id: from the answer (create, update) or from the URL (destroy answers a boolean). */
const changedId = ({ result, params }: PublishContext<Task | boolean>): number =>
  typeof result === 'object' ? result.id : Number(params.id)

/** Announces a change on `tasks` and `task:<id>` with data `{ id }`. */
const announce = (event: 'task:created' | 'task:updated' | 'task:deleted') => publishEvent<Task | boolean>({
  event,
  topic: (context) => ['tasks', `task:${changedId(context)}`],
  extractData: (_result, context) => ({ id: changedId(context) })
})

/** The list's filter: `GET /tasks?done=false` answers the open tasks (and `?done=maybe` a 400 problem). */
const TaskFilter = Type.Object({ done: Type.Optional(Type.Boolean({ description: 'Only the tasks that are done (true) or open (false)' })) })

export function taskViews (store: TaskRepository) {
  return class Tasks extends ModelViewSet({ model: Task, create: TaskCreate, update: TaskUpdate, id: Type.Integer({ minimum: 1 }), querystring: TaskFilter, tags: ['tasks'] }) {
    async list () {
      const { done } = this.query
      const tasks = await store.all()
      return done === undefined ? tasks : tasks.filter((task) => task.done === done)
    }
    retrieve (id: number) { return store.get(id) }

    @announce('task:created')
    create (body: Static<typeof TaskCreate>) { return store.add(body.title) }

    @announce('task:updated')
    update (id: number, body: Static<typeof TaskUpdate>) { return store.change(id, body) }

    @announce('task:updated')
    partialUpdate (id: number, body: Partial<Static<typeof TaskUpdate>>) { return store.change(id, body) }

    // false (no such task) is a 404 and announces nothing.
    @announce('task:deleted')
    destroy (id: number) { return store.remove(id) }
  }
}

const publicFile = (name: string): string => readFileSync(new URL(`./public/${name}`, import.meta.url), 'utf8')

export interface QuickstartOptions extends CreateAppOptions {
  /** The tasks (default: a new TaskStore, in memory); instances that share one see the same tasks. */
  store?: TaskRepository
}

export async function build (options: QuickstartOptions = {}): Promise<FastifyInstance> {
  const { store = new TaskStore(), ...appOptions } = options
  // createApp: problem documents, OpenAPI + Swagger UI at /docs, /health, and app.broker (Redis when
  // REDIS_URL is set, in memory otherwise); SSE_HEARTBEAT_SECONDS, TOPIC_PREFIX and CORS_ORIGINS from the env.
  const app = await createApp({
    title: 'fastify-views quickstart',
    version: '1.0.0',
    license: { name: 'MIT', identifier: 'MIT' },
    description: 'A task API that announces its changes as Server-Sent Events on the topics `tasks` and `task:<id>`.',
    ...appOptions
  })
  const router = new ViewRouter()
  router.registerView(taskViews(store), { prefix: '/tasks' })
  // retry: browsers reconnect one second after a dropped stream (their default is about three).
  router.registerView(SubscriptionView({ tags: ['events'], operationId: 'subscribe', retry: 1000 }), { prefix: '/events' })
  await app.register(router.plugin)

  // The page: plain HTML and JavaScript, no build step; its event stream is fastify-views/client.
  await serveClientScript(app)
  const page = { html: publicFile('index.html'), script: publicFile('app.js') }
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.type('text/html; charset=utf-8').send(page.html))
  app.get('/app.js', { schema: { hide: true } }, (_request, reply) => reply.type('text/javascript; charset=utf-8').send(page.script))
  return app
}
