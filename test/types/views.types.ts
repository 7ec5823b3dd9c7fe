/**
 * Type-level tests of the view API: this file must compile, and each `@ts-expect-error` line must be an
 * error (tsc fails on an unused expectation), so wrong code provably does not compile.
 */
import { Type, type Static } from '@sinclair/typebox'
import { APIView, ModelViewSet, ListView, get, post, type ActionContext } from '../../lib/index.js'

const Task = Type.Object({ id: Type.Integer(), title: Type.String() })
const TaskCreate = Type.Object({ title: Type.String() })

// Handler types come from the definition: no annotation needed.
export class Good extends APIView({
  params: Type.Object({ slug: Type.String() }),
  querystring: Type.Object({ limit: Type.Integer() }),
  get: { response: { 200: Task } },
  post: { body: TaskCreate, response: { 201: Task } }
}) {
  async get () {
    const limit: number = this.query.limit
    const slug: string = this.params.slug
    return { id: limit, title: slug }
  }

  async post () { return { id: 1, title: this.body.title } }
}

export class WrongReturn extends APIView({ get: { response: { 200: Task } } }) {
  // @ts-expect-error -- `id` must be a number
  async get () { return { id: 'one', title: 'x' } }
}

export class MissingField extends APIView({ get: { response: { 200: Task } } }) {
  // @ts-expect-error -- `title` is required by the 200 schema
  get () { return { id: 1 } }
}

export class UnknownBodyField extends APIView({ post: { body: TaskCreate, response: { 201: Task } } }) {
  async post () {
    // @ts-expect-error -- the body schema has no `priority`
    const priority: number = this.body.priority
    return { id: priority, title: this.body.title }
  }
}

export class WrongParamType extends APIView({ params: Type.Object({ id: Type.Integer() }), get: {} }) {
  get () {
    // @ts-expect-error -- `id` is a number
    const id: string = this.params.id
    return id
  }
}

// Generic views: data methods are checked against the model.
export class Tasks extends ModelViewSet({ model: Task, create: TaskCreate, id: Type.Integer() }) {
  list () { return [{ id: 1, title: 'a' }] }
  retrieve (id: number) { return id > 0 ? { id, title: 'a' } : null }
  create (body: Static<typeof TaskCreate>) { return { id: 1, title: body.title } }
  update (id: number, body: Static<typeof TaskCreate>) { return { id, title: body.title } }
  partialUpdate (id: number, body: Partial<Static<typeof TaskCreate>>) { return { id, title: body.title ?? '' } }
  destroy (id: number) { return id > 0 }
}

export class BadList extends ListView({ model: Task }) {
  // @ts-expect-error -- list answers Task items
  list () { return [{ id: '1', title: 'a' }] }
}

export class BadCreate extends ModelViewSet({ model: Task, create: TaskCreate }) {
  list () { return [] }
  retrieve () { return null }
  // @ts-expect-error -- the create body has a title, not a name
  create (body: { name: string }) { return { id: 1, title: body.name } }
  update () { return null }
  partialUpdate () { return null }
  destroy () { return true }
}

// Actions: the decorator checks the method against its response schema.
const Archive = { response: { 200: Task } } as const
export class Actions extends APIView({}) {
  @get('/ok', Archive)
  ok () { return { id: 1, title: 'x' } }

  @post('/typed', { body: TaskCreate, response: { 200: Task } })
  typed (ctx: ActionContext<{ body: typeof TaskCreate }>) { return { id: 1, title: ctx.body.title } }

  // @ts-expect-error -- returns a string where the schema says Task
  @get('/bad', Archive)
  bad () { return 'nope' }
}

// A ModelViewSet must implement all six operations: leaving one out does not compile.
// @ts-expect-error -- Non-abstract class 'Incomplete' does not implement inherited abstract member 'destroy'
export class Incomplete extends ModelViewSet({ model: Task, create: TaskCreate, id: Type.Integer() }) {
  list () { return [] }
  retrieve () { return null }
  create () { return { id: 1, title: 'x' } }
  update () { return null }
  partialUpdate () { return null }
}

export class WrongIdType extends ModelViewSet({ model: Task, id: Type.Integer() }) {
  list () { return [] }
  // @ts-expect-error -- the :id is an integer
  retrieve (id: string) { return { id: Number(id), title: 'x' } }
  create () { return { id: 1, title: 'x' } }
  update () { return null }
  partialUpdate () { return null }
  destroy () { return true }
}
