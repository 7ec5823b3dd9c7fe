/**
 * Type-level tests of SSE views: this file must compile, and each `@ts-expect-error` line must be an error
 * (tsc fails on an unused expectation), so wrong code provably does not compile.
 */
import { Type } from '@sinclair/typebox'
import { ModelViewSet, ServerSideEventsView, sseRoute, type EventOf, type SSEContext, type SSEStream } from '../../lib/index.js'

const Price = Type.Object({ symbol: Type.String(), price: Type.Number() })
const Halt = Type.Object({ reason: Type.String() })
const Task = Type.Object({ id: Type.Integer(), title: Type.String() })

// Everything is typed from the definition: no annotation anywhere.
export class Prices extends ServerSideEventsView({
  params: Type.Object({ exchange: Type.String() }),
  querystring: Type.Object({ symbol: Type.String(), limit: Type.Integer() }),
  data: Price,
  events: ['price']
}) {
  retry = 2000

  beforeStream () {
    const exchange: string = this.params.exchange
    if (exchange === '') throw new Error('no exchange')
  }

  async * events () {
    const symbol: string = this.query.symbol
    const limit: number = this.query.limit
    const resumeFrom: string | undefined = this.lastEventId
    const aborted: boolean = this.signal.aborted
    for (let i = 0; i < limit && !aborted; i++) yield { event: 'price', data: { symbol, price: i }, id: resumeFrom ?? i }
    yield this.event('price', { symbol, price: 1 }, { id: null, retry: 10 })
  }
}

export class WrongData extends ServerSideEventsView({ data: Price }) {
  // @ts-expect-error -- `price` must be a number
  async * events () { yield { data: { symbol: 'ACME', price: 'high' } } }
}

export class MissingData extends ServerSideEventsView({ data: Price }) {
  // @ts-expect-error -- `symbol` is required
  async * events () { yield { data: { price: 1 } } }
}

export class WrongEventField extends ServerSideEventsView({ data: Price }) {
  // @ts-expect-error -- `retry` is a number of milliseconds
  async * events () { yield { data: { symbol: 'A', price: 1 }, retry: '10' } }
}

export class UnknownParam extends ServerSideEventsView({ params: Type.Object({ room: Type.String() }), data: Type.String() }) {
  async * events () {
    // @ts-expect-error -- the params schema has no `user`
    yield { data: this.params.user as string }
  }
}

export class WrongParamType extends ServerSideEventsView({ params: Type.Object({ id: Type.Integer() }), data: Type.String() }) {
  async * events () {
    // @ts-expect-error -- `id` is a number
    const id: string = this.params.id
    yield { data: id }
  }
}

export class WrongQueryType extends ServerSideEventsView({ querystring: Type.Object({ depth: Type.Integer() }), data: Type.Integer() }) {
  async * events () {
    // @ts-expect-error -- `depth` is a number
    yield { data: this.query.depth.toUpperCase() }
  }
}

// A schema per event name: this.event() ties the data to the name.
export class Market extends ServerSideEventsView({ events: { price: Price, halt: Halt } }) {
  async * events () {
    yield this.event('price', { symbol: 'ACME', price: 1 })
    yield this.event('halt', { reason: 'news' })
    // @ts-expect-error -- price data is a Price, not a Halt
    yield this.event('price', { reason: 'news' })
    // @ts-expect-error -- halt data is a Halt
    yield this.event('halt', { symbol: 'ACME', price: 1 })
    // @ts-expect-error -- 'resume' is not an event of this stream
    yield this.event('resume', { reason: 'x' })
  }
}

export class ListedNames extends ServerSideEventsView({ data: Price, events: ['price', 'close'] }) {
  async * events () {
    yield this.event('close', { symbol: 'ACME', price: 1 })
    // @ts-expect-error -- only 'price' and 'close' are listed
    yield this.event('open', { symbol: 'ACME', price: 1 })
  }
}

// @sseRoute: the decorator checks the method's yields against its definition.
const Ticks = { querystring: Type.Object({ n: Type.Integer() }), data: Type.Integer(), events: ['tick'] } as const

export class Routes extends ServerSideEventsView({ data: Type.String() }) {
  async * events () { yield { data: 'main' } }

  @sseRoute('/ticks', Ticks)
  async * ticks (ctx: SSEContext<typeof Ticks>) {
    const n: number = ctx.query.n
    yield { event: 'tick', data: n }
  }

  @sseRoute('/prepared', { data: Type.String() })
  async prepared () {
    // An async function that returns the generator: its awaits run before anything streams.
    await Promise.resolve()
    return (async function * () { yield { data: 'ok' } })()
  }

  // @ts-expect-error -- the route's data is an integer
  @sseRoute('/wrong', { data: Type.Integer() })
  async * wrong () { yield { data: 'not a number' } }

  // @ts-expect-error -- the returned generator yields strings where the route's data is an integer
  @sseRoute('/wrong-prepared', { data: Type.Integer() })
  async wrongPrepared () { return (async function * () { yield { data: 'x' } })() }

  @sseRoute('/wrong-context', Ticks)
  async * wrongContext (ctx: SSEContext<typeof Ticks>) {
    // @ts-expect-error -- `n` is a number
    const n: string = ctx.query.n
    yield { event: 'tick', data: n.length }
  }
}

// On a generic view, a detail stream reads the typed :id through this.params.
export class Tasks extends ModelViewSet({ model: Task, id: Type.Integer() }) {
  list () { return [] }
  retrieve () { return null }
  create () { return { id: 1, title: 'x' } }
  update () { return null }
  partialUpdate () { return null }
  destroy () { return false }

  @sseRoute('/changes', { data: Task, events: ['changed'] }, { detail: true })
  async * changes () {
    const id: number = this.params.id
    yield { event: 'changed', data: { id, title: 'x' } }
  }

  // @ts-expect-error -- Task ids are numbers
  @sseRoute('/bad-changes', { data: Task }, { detail: true })
  async * badChanges () { yield { data: { id: String(this.params.id), title: 'x' } } }
}

// What a route yields, as a type of its own.
export const priceEvent: EventOf<{ data: typeof Price }> = { data: { symbol: 'A', price: 1 }, id: 'x' }
// @ts-expect-error -- an event's data follows the schema
export const badPriceEvent: EventOf<{ data: typeof Price }> = { data: { symbol: 1, price: 1 } }

// Declared names: a yield must name one of them.
export class MissingName extends ServerSideEventsView({ data: Price, events: ['price'] }) {
  // @ts-expect-error -- the stream declares its names: an event without one is refused at run time
  async * events () { yield { data: { symbol: 'A', price: 1 } } }
}

// Annotated with SSEStream, every bare yield is checked name by name.
export class Checked extends ServerSideEventsView({ events: { price: Price, halt: Halt } }) {
  async * events (): SSEStream<typeof Checked.definition> {
    yield { event: 'price', data: { symbol: 'A', price: 1 } }
    yield { event: 'halt', data: { reason: 'news' }, id: null }
    // @ts-expect-error -- 'prise' is not an event of this stream
    yield { event: 'prise', data: { symbol: 'A', price: 1 } }
    // @ts-expect-error -- a halt's data is a Halt, not a Price
    yield { event: 'halt', data: { symbol: 'A', price: 1 } }
    // @ts-expect-error -- every event of this stream has a name
    yield { data: { reason: 'news' } }
  }
}

const Listed = { data: Price, events: ['price', 'close'] } as const
export class CheckedList extends ServerSideEventsView(Listed) {
  async * events (): SSEStream<typeof Listed> {
    yield { event: 'close', data: { symbol: 'A', price: 1 } }
    // @ts-expect-error -- only 'price' and 'close' are listed
    yield { event: 'open', data: { symbol: 'A', price: 1 } }
  }
}

// Un-annotated, TypeScript widens the name to string: the data must still fit one of the schemas.
export class LooseNames extends ServerSideEventsView({ events: { price: Price, halt: Halt } }) {
  // @ts-expect-error -- this data fits neither a Price nor a Halt
  async * events () { yield { event: 'price', data: { nothing: true } } }
}

// A detail @sseRoute without params of its own: ctx.params is the view's, with the :id of its `id` schema.
const Changes = { data: Task, events: ['changed'] } as const
export class DetailStreams extends ModelViewSet({ model: Task, id: Type.Integer() }) {
  override list () { return [] }
  override retrieve () { return null }
  override create () { return { id: 1, title: 'x' } }
  override update () { return null }
  override partialUpdate () { return null }
  override destroy () { return false }

  @sseRoute('/changes', Changes, { detail: true })
  async * changes (ctx: SSEContext<typeof Changes, this['params']>) {
    const id: number = ctx.params.id
    yield { event: 'changed', data: { id, title: 'x' } }
  }

  // @ts-expect-error -- the :id of this view is a number, not the string of an untyped context
  @sseRoute('/untyped', Changes, { detail: true })
  async * untyped (ctx: SSEContext<typeof Changes>) { yield { event: 'changed', data: { id: Number(ctx.params.id), title: 'x' } } }
}
