/** A small in-memory task collection shared by the view tests. */
import { Type, type Static } from '@sinclair/typebox'
import { ModelViewSet, post, NotFoundError } from '../../lib/index.js'

export const Task = Type.Object({ id: Type.Integer(), title: Type.String(), done: Type.Boolean() }, { $id: 'Task' })
export const TaskCreate = Type.Object({ title: Type.String({ minLength: 1 }) }, { $id: 'TaskCreate', additionalProperties: false })
export const TaskUpdate = Type.Object({ title: Type.String({ minLength: 1 }), done: Type.Boolean() }, { $id: 'TaskUpdate', additionalProperties: false })
export type TaskT = Static<typeof Task>

export function taskViewSet () {
  const tasks = new Map<number, TaskT>()
  let next = 1
  class Tasks extends ModelViewSet({ model: Task, create: TaskCreate, update: TaskUpdate, id: Type.Integer(), tags: ['tasks'] }) {
    async list () { return [...tasks.values()] }
    async retrieve (id: number) { return tasks.get(id) }
    async create (body: Static<typeof TaskCreate>) {
      const task = { id: next++, title: body.title, done: false }
      tasks.set(task.id, task)
      return task
    }

    async update (id: number, body: Static<typeof TaskUpdate>) {
      if (!tasks.has(id)) return null
      const task = { id, ...body }
      tasks.set(id, task)
      return task
    }

    async partialUpdate (id: number, body: Partial<Static<typeof TaskUpdate>>) {
      const task = tasks.get(id)
      if (task === undefined) return null
      Object.assign(task, body)
      return task
    }

    async destroy (id: number) { return tasks.delete(id) }

    @post('/complete', { response: { 200: Task } }, { detail: true })
    async complete () {
      const task = tasks.get(this.params.id)
      if (task === undefined) throw new NotFoundError('no such task')
      task.done = true
      return task
    }
  }
  return { Tasks, tasks }
}
