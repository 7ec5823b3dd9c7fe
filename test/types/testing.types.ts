/**
 * Type-level tests of fastify-views/testing: a stream's events are typed by an event map, by a view class
 * or by an SSE definition (EventsOf), and a topic stream's control events are typed too. EventsOf is the
 * client's ViewEventsOf (one definition): an @sseRoute method's type types a stream too. Each
 * `@ts-expect-error` line must be an error.
 */
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { ServerSideEventsView, sseRoute, View, type SSEStream } from '../../lib/index.js'
import type { ViewEventsOf } from '../../lib/client/index.js'
import { openEventStream, type EventsOf, type TestEvent, type TopicStreamEvents } from '../../lib/testing/index.js'

const Price = Type.Object({ symbol: Type.String(), price: Type.Number() })
const Halt = Type.Object({ reason: Type.String() })
const Market = { events: { price: Price, halt: Halt } } as const
export class MarketView extends ServerSideEventsView(Market) {}

export async function byView (): Promise<void> {
  const app = Fastify()
  const stream = await openEventStream<EventsOf<typeof MarketView>>(app, '/market')
  const event = await stream.next()
  // Narrowed by name: each name has its own data.
  if (event.event === 'price') {
    const price: number = event.data.price
    void price
    // @ts-expect-error a price has no reason
    void event.data.reason
  } else {
    const reason: string = event.data.reason
    void reason
  }
  const halt: TestEvent<'halt', { reason: string }> = await stream.next('halt')
  void halt
  // @ts-expect-error 'prise' is not an event of the view
  await stream.next('prise')
  const batch = await stream.take(3)
  const names: Array<'price' | 'halt'> = batch.map((one) => one.event)
  void names
  // The definition object types the stream the same way.
  const same = await openEventStream<EventsOf<typeof Market>>(app, '/market')
  const first: TestEvent<'price', { symbol: string, price: number }> = await same.next('price')
  void first
}

const Ticks = { data: Type.Integer(), events: ['tick', 'tock'] } as const
export class TickView extends ServerSideEventsView(Ticks) {}

export async function listedNames (): Promise<void> {
  const stream = await openEventStream<EventsOf<typeof Ticks>>(Fastify(), '/ticks')
  const tick = await stream.next('tick')
  const n: number = tick.data
  void n
  // @ts-expect-error only tick and tock
  await stream.next('tack')
}

const Task = Type.Object({ id: Type.Integer(), title: Type.String() })
export class Tasks extends View {
  @sseRoute('/changes', { events: { changed: Task } })
  async * changes (): SSEStream<{ events: { changed: typeof Task } }> { yield { event: 'changed', data: { id: 1, title: 't' } } }
}

export async function byRouteMethod (): Promise<void> {
  const stream = await openEventStream<EventsOf<Tasks['changes']>>(Fastify(), '/changes')
  const changed = await stream.next('changed')
  const title: string = changed.data.title
  void title
  // @ts-expect-error the method yields only `changed`
  await stream.next('created')
}

// One definition: the same map as the client's, for a class, a definition object and a route method.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
export const sameAsTheClient: [
  Same<EventsOf<typeof MarketView>, ViewEventsOf<typeof MarketView>>,
  Same<EventsOf<typeof Ticks>, ViewEventsOf<typeof Ticks>>,
  Same<EventsOf<Tasks['changes']>, ViewEventsOf<Tasks['changes']>>
] = [true, true, true]

export async function topics (): Promise<void> {
  const stream = await openEventStream<TopicStreamEvents<{ 'task:created': { id: number } }>>(Fastify(), '/events?topic=tasks')
  const subscribed = await stream.next('subscribed')
  const topicsList: string[] = subscribed.data.topics
  const reset = await stream.next('reset')
  const reason: 'malformed' | 'topics-changed' | 'epoch-changed' | 'invalid-offset' | 'history-trimmed' = reset.data.reason
  const created = await stream.next('task:created')
  const id: number = created.data.id
  // @ts-expect-error the catalog's events and the control events only
  await stream.next('task:deleted')
  void [topicsList, reason, id]
}

export async function untyped (): Promise<void> {
  const stream = await openEventStream(Fastify(), '/anything')
  const event = await stream.next('whatever')
  const data: unknown = event.data
  const name: string = event.event
  // @ts-expect-error data is unknown until typed
  const text: string = event.data
  void [data, name, text]
}
