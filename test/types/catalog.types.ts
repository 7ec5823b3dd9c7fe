// The topic catalog types the publisher: a wrong topic, event or data fails to compile on broker.publish,
// publishEvent (decorator and handler forms) and authorize; the method's result type is inferred (issue 12).
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  APIView, createApp, createBroker, defineTopics, ListCreateView, MemoryBroker, publishEvent, SubscriptionView,
  type Broker, type TopicEventsOf, type TopicNameOf
} from '../../lib/index.js'
import { RedisBroker } from '../../lib/redis.js'

const Task = Type.Object({ id: Type.Integer(), title: Type.String() })
const Note = Type.Object({ text: Type.String() })
type TaskOf = Static<typeof Task>
const topics = defineTopics({
  'task:{id}': { params: Type.Object({ id: Type.Integer() }), events: { updated: Task, deleted: Type.Object({ id: Type.Integer() }) } },
  announcements: { events: { posted: Note } },
  'org:{org}:team:{team}': { events: { posted: Note } }
})

// The contract with the typed client: a phantom '~topics' map keyed by the template as declared.
type Events = TopicEventsOf<typeof topics>
export const contract: Events = {
  'task:{id}': { updated: { id: 1, title: 'x' }, deleted: { id: 1 } },
  announcements: { posted: { text: 'x' } },
  'org:{org}:team:{team}': { posted: { text: 'x' } }
}
// @ts-expect-error -- the map is keyed by the template, not by a concrete name
export const contractByName: Events['task:7'] = {}
export const names: Array<TopicNameOf<typeof topics>> = ['task:7', 'announcements', 'org:a:team:b']
// @ts-expect-error -- an integer parameter: `task:x` is no name of the catalog
export const wrongName: TopicNameOf<typeof topics> = 'task:x'

// ---- broker.publish
const broker = new MemoryBroker({ topics })
export const untypedView: Broker = broker
void broker.publish('task:7', 'updated', { id: 7, title: 'x' })
void broker.publish(['announcements', 'org:a:team:b'], 'posted', { text: 'x' })
// @ts-expect-error -- a topic the catalog does not know
void broker.publish('tasks', 'updated', { id: 7, title: 'x' })
// @ts-expect-error -- an event the topic does not carry
void broker.publish('task:7', 'posted', { text: 'x' })
// @ts-expect-error -- a misspelt event
void broker.publish('task:7', 'updatd', { id: 7, title: 'x' })
// @ts-expect-error -- data of the wrong shape
void broker.publish('task:7', 'updated', { id: 7 })
// @ts-expect-error -- one publish to several topics: the event must be one every topic carries
void broker.publish(['task:7', 'announcements'], 'posted', { text: 'x' })
export async function otherBrokers (): Promise<void> {
  const created = await createBroker({ topics })
  // @ts-expect-error -- createBroker keeps the catalog's type
  await created.publish('task:7', 'updated', { id: 'seven', title: 'x' })
  const redis = new RedisBroker({ url: 'redis://127.0.0.1:6379', topics })
  // @ts-expect-error -- and so does the Redis broker
  await redis.publish('announcement', 'posted', { text: 'x' })
  // A typed broker is a Broker: createApp and the plugin take it.
  const app = await createApp({ broker: created })
  await app.close()
  // Without a catalog, any topic and data, as before.
  await new MemoryBroker().publish('whatever', 'x', 1)
}
export const builtName: `task:${number}` = topics.name('task:{id}', { id: 7 })
// @ts-expect-error -- a template's parameters are its params schema's
topics.name('task:{id}', { id: 'seven' })

// ---- publishEvent(topics, ...): the method's return type is checked against the event's data
export class Tasks extends ListCreateView({ model: Task, create: Type.Object({ title: Type.String() }) }) {
  override list () { return [] }

  // The result is a Task (extra fields are dropped when published); `task:{id}` is filled from its id.
  @publishEvent(topics, { event: 'updated', topic: 'task:{id}' })
  override create (body: { title: string }) { return { id: 1, title: body.title, extra: true } }
}
export class Notes extends APIView({ post: { response: { 200: Note } } }) {
  // @ts-expect-error -- the method returns a Note; 'updated' carries a Task
  @publishEvent(topics, { event: 'updated', topic: 'task:{id}' })
  post () { return { text: 'x' } }
}
export class AsyncNotes extends APIView({ post: { response: { 200: Note } } }) {
  @publishEvent(topics, { event: 'posted', topic: 'announcements' })
  async post () { return { text: 'x' } }
}
export const handler = publishEvent(topics, { event: 'posted', topic: (note) => ['announcements', `org:${note.text}:team:x`] })(async (_request: FastifyRequest, _reply: FastifyReply) => ({ text: 'x' }))
// @ts-expect-error -- the handler answers a string, not the event's data
export const wrongHandler = publishEvent(topics, { event: 'posted', topic: 'announcements' })(async (_request: FastifyRequest, _reply: FastifyReply) => 'done')
// @ts-expect-error -- an event the catalog does not declare
export const undeclared = publishEvent(topics, { event: 'postd', topic: 'announcements' })
// @ts-expect-error -- a topic that does not carry the event
export const elsewhere = publishEvent(topics, { event: 'posted', topic: 'task:{id}' })
// @ts-expect-error -- the template's parameters (org, team) are not fields of the data
export const unfilled = publishEvent(topics, { event: 'posted', topic: 'org:{org}:team:{team}' })
// @ts-expect-error -- a topic function returning a name that does not carry the event
export const wrongTarget = publishEvent(topics, { event: 'posted', topic: (note) => `task:${note.text.length}` })
// @ts-expect-error -- the topic function's data is the event's: a Note has no id
export const wrongField = publishEvent(topics, { event: 'posted', topic: (note) => `task:${note.id}` })
export const explicitTask = publishEvent(topics, { event: 'updated', topic: (task: TaskOf) => `task:${task.id}` })

// ---- authorize: the template narrows the parameters
export const Events = SubscriptionView({
  catalog: topics,
  authorize: (_request, _topic, resolved) => {
    if (resolved.template === 'task:{id}') return resolved.params.id > 0
    if (resolved.template === 'org:{org}:team:{team}') return resolved.params.org.length > 0 && resolved.params.team !== ''
    return true
  }
})
export const WrongTemplate = SubscriptionView({
  catalog: topics,
  // @ts-expect-error -- no such template
  authorize: (_request, _topic, resolved) => resolved.template === 'tasks:{id}'
})
export const WrongParam = SubscriptionView({
  catalog: topics,
  // @ts-expect-error -- task:{id}'s id is a number
  authorize: (_request, _topic, resolved) => resolved.template === 'task:{id}' && resolved.params.id.startsWith('1')
})
// Without a catalog, authorize keeps its (request, topic) form.
export const Plain = SubscriptionView({ authorize: (_request, topic) => topic.startsWith('public') })
