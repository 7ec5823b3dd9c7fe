/**
 * Type-level tests of publishing: this file must compile, and each `@ts-expect-error` line must be an
 * error (tsc fails on an unused expectation).
 */
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ListCreateView, publishEvent } from '../../lib/index.js'

const Task = Type.Object({ id: Type.Integer(), title: Type.String() })
const TaskCreate = Type.Object({ title: Type.String() })
type TaskOf = Static<typeof Task>

export class Tasks extends ListCreateView({ model: Task, create: TaskCreate }) {
  override list () { return [] }

  @publishEvent<TaskOf>({ topic: ({ result }) => `task:${result.id}`, extractData: (task) => ({ id: task.id }) })
  override create (body: Static<typeof TaskCreate>) { return { id: 1, title: body.title } }
}

export class Disagreeing extends ListCreateView({ model: Task, create: TaskCreate }) {
  override list () { return [] }

  // @ts-expect-error -- the method returns a Task, which has no `name`: the topic would be `x:undefined`
  @publishEvent<{ name: string }>({ topic: ({ result }) => `x:${result.name}` })
  override create (body: Static<typeof TaskCreate>) { return { id: 1, title: body.title } }
}

export class AsyncDisagreeing extends ListCreateView({ model: Task, create: TaskCreate }) {
  override list () { return [] }

  // @ts-expect-error -- an async method is checked by what it resolves to
  @publishEvent<{ name: string }>({ topic: ({ result }) => `x:${result.name}` })
  override async create (body: Static<typeof TaskCreate>) { return { id: 1, title: body.title } }
}

// Around a plain handler, likewise.
export const handler = publishEvent<TaskOf>({ topic: ({ result }) => `task:${result.id}` })(async (_request: FastifyRequest, _reply: FastifyReply) => ({ id: 1, title: 'x' }))
// @ts-expect-error -- the handler answers a string, not a Task
export const wrongHandler = publishEvent<TaskOf>({ topic: 'tasks' })(async (_request: FastifyRequest, _reply: FastifyReply) => 'done')
