// Compiled with experimentalDecorators by test/types/experimental-decorators.test.ts: every decorator
// must fail with the message that names the fix.
import { Type } from '@sinclair/typebox'
import { ListCreateView, get, publishEvent, sseRoute } from '../../../lib/index.js'

const Task = Type.Object({ id: Type.Integer(), title: Type.String() })

export class Tasks extends ListCreateView({ model: Task }) {
  override list () { return [] }

  @publishEvent({ topic: 'tasks' })
  override create () { return { id: 1, title: 'x' } }

  @get('/stats')
  stats () { return { open: 1 } }

  @sseRoute('/changes', { data: Task })
  async * changes () { yield { data: { id: 1, title: 'x' } } }
}
