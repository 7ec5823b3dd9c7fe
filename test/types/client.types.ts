/**
 * Type-level tests of fastify-views/client: listeners typed from the server's own definitions (a view
 * class, a definition, an @sseRoute method, a topic catalog's phantom `'~topics'` type or a plain map);
 * each `@ts-expect-error` line must be an error, so wrong code provably does not compile.
 */
import { Type, type Static } from '@sinclair/typebox'
import { ServerSideEventsView, sseRoute, View, type SSEStream } from '../../lib/index.js'
import { connect, createClient, subscribe, type EventStream, type TopicNameOf } from '../../lib/client/index.js'

const Price = Type.Object({ symbol: Type.String(), price: Type.Number() })
const Halt = Type.Object({ reason: Type.String() })
const Task = Type.Object({ id: Type.Integer(), title: Type.String() })
type Task = Static<typeof Task>

// ---- views

const PricesDefinition = { data: Price, events: ['price'] } as const
class Prices extends ServerSideEventsView(PricesDefinition) {
  async * events (): SSEStream<typeof PricesDefinition> { yield { event: 'price', data: { symbol: 'A', price: 1 } } }
}
const prices = connect<typeof Prices>('http://localhost/prices')
prices.on('price', (data, meta) => {
  const symbol: string = data.symbol
  const value: number = data.price
  const name: 'price' = meta.event
  const cursor: string = meta.lastEventId
  return [symbol, value, name, cursor]
})
// @ts-expect-error a name the view does not declare
prices.on('prices', () => {})
// @ts-expect-error the data is a Price, not a string
prices.on('price', (data: string) => data)

class Market extends ServerSideEventsView({ events: { price: Price, halt: Halt } }) {
  async * events () { yield this.event('halt', { reason: 'x' }) }
}
const market = connect<typeof Market>('http://localhost/market')
market.on('halt', (halt) => { const reason: string = halt.reason; return reason })
// @ts-expect-error halt's data has no price
market.on('halt', (halt) => halt.price)

// A definition object, as given to @sseRoute.
const changes = { events: { changed: Task } } as const
connect<typeof changes>('http://localhost/tasks/1/changes').on('changed', (task) => { const title: string = task.title; return title })
// @ts-expect-error changed carries a Task
connect<typeof changes>('http://localhost/tasks/1/changes').on('changed', (task: { name: string }) => task)

// An @sseRoute method's type.
class Tasks extends View {
  @sseRoute('/changes', { events: { changed: Task } })
  async * changes (): SSEStream<{ events: { changed: typeof Task } }> { yield { event: 'changed', data: { id: 1, title: 't' } } }
}
connect<Tasks['changes']>('http://localhost/tasks/1/changes').on('changed', (task) => { const id: number = task.id; return id })
// @ts-expect-error the method yields only `changed`
connect<Tasks['changes']>('http://localhost/tasks/1/changes').on('created', () => {})

// Untyped: any name, unknown data.
connect('http://localhost/any').on('whatever', (data) => { const value: unknown = data; return value })

// ---- topics: the catalog's phantom type (the contract with lib/topics' catalog)

interface Catalog {
  readonly '~topics': {
    tasks: { created: { id: number }, deleted: { id: number } }
    'task:{id}': { updated: Task, deleted: { id: number } }
    'board:{board}:column:{column}': { moved: { card: number } }
  }
}
declare const catalog: Catalog

const names: Array<TopicNameOf<Catalog>> = ['tasks', 'task:42', 'board:1:column:done']
// @ts-expect-error a topic the catalog does not declare
const wrongName: TopicNameOf<Catalog> = 'project:1'

const client = createClient<typeof catalog>({ baseUrl: 'http://localhost' })
// The topics named narrow the events to their templates'.
const one = client.topics(['task:42'])
one.on('updated', (task, meta) => { const title: string = task.title; const name: 'updated' = meta.event; return [title, name] })
one.on('deleted', (data) => { const id: number = data.id; return id })
// @ts-expect-error `created` is an event of `tasks`, not of `task:{id}`
one.on('created', () => {})
// @ts-expect-error updated carries a Task
one.on('updated', (task: { id: string }) => task)
// @ts-expect-error an undeclared topic
client.topics(['project:1'])

const both = client.topics(['tasks', 'task:7'])
both.on('created', (data) => data.id)
// Both templates carry `deleted` with the same shape.
both.on('deleted', (data) => data.id)
both.onReset((info) => { const topics: string[] = info.topics; return [info.reason, topics] })

// An explicit catalog: every event of the catalog (TypeScript infers no type argument once one is given).
const explicit = createClient().topics<typeof catalog>(['task:42'])
explicit.on('moved', (data) => data.card)
// @ts-expect-error still no such event in the catalog
explicit.on('renamed', () => {})
subscribe<Catalog>('http://localhost/events', ['tasks']).on('created', (data) => data.id)

// A plain map type is accepted too.
type PlainMap = { 'user:{id}': { renamed: { name: string } } }
subscribe<PlainMap>('http://localhost/events', ['user:1']).on('renamed', (data) => { const name: string = data.name; return name })
// @ts-expect-error not a topic of the map
subscribe<PlainMap>('http://localhost/events', ['users'])

// Without a catalog: plain string topics, unknown data.
const plain: EventStream<{ [event: string]: unknown }> = subscribe('http://localhost/events', ['anything'])
plain.on('x', (data) => data)

export { names, wrongName, plain, both, Prices, Market, changes, catalog }
