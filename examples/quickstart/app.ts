/**
 * Quickstart: a task API built from one ModelViewSet, with Swagger UI at /docs.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { configureApp, ModelViewSet, ViewRouter } from '../../lib/index.js'

export const Task = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  title: Type.String({ minLength: 1, maxLength: 200 }),
  done: Type.Boolean()
}, { $id: 'Task', description: 'A task' })
export const TaskCreate = Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }) }, { $id: 'TaskCreate', additionalProperties: false })
export const TaskUpdate = Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }), done: Type.Boolean() }, { $id: 'TaskUpdate', additionalProperties: false })
type TaskT = Static<typeof Task>

/** The task store: a Map, so the example runs with nothing installed. */
export class TaskStore {
  private readonly tasks = new Map<number, TaskT>()
  private nextId = 1
  all (): TaskT[] { return [...this.tasks.values()] }
  get (id: number): TaskT | undefined { return this.tasks.get(id) }
  add (title: string): TaskT {
    const task = { id: this.nextId++, title, done: false }
    this.tasks.set(task.id, task)
    return task
  }

  change (id: number, fields: Partial<Omit<TaskT, 'id'>>): TaskT | undefined {
    const task = this.tasks.get(id)
    if (task !== undefined) Object.assign(task, fields)
    return task
  }

  remove (id: number): boolean { return this.tasks.delete(id) }
}

export function taskViews (store: TaskStore) {
  return class Tasks extends ModelViewSet({ model: Task, create: TaskCreate, update: TaskUpdate, id: Type.Integer({ minimum: 1 }), tags: ['tasks'] }) {
    list () { return store.all() }
    retrieve (id: number) { return store.get(id) }
    create (body: Static<typeof TaskCreate>) { return store.add(body.title) }
    update (id: number, body: Static<typeof TaskUpdate>) { return store.change(id, body) }
    partialUpdate (id: number, body: Partial<Static<typeof TaskUpdate>>) { return store.change(id, body) }
    destroy (id: number) { return store.remove(id) }
  }
}

export async function build (options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options)
  await configureApp(app, { title: 'fastify-views quickstart', version: '1.0.0', description: 'A task API built from one ModelViewSet.' })
  const router = new ViewRouter()
  router.registerView(taskViews(new TaskStore()), { prefix: '/tasks' })
  await app.register(router.plugin)
  return app
}
