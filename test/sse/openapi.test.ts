import t from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Type, type Static } from '@sinclair/typebox'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { ModelViewSet, ServerSideEventsView, sseRoute } from '../../lib/index.js'
import { buildApp } from '../helpers/app.js'
import { documentOf } from '../../scripts/openapi-documents.js'

const StockPrice = Type.Object({ symbol: Type.String(), price: Type.Number() }, { $id: 'StockPrice' })
const TradingHalt = Type.Object({ reason: Type.String() }, { $id: 'TradingHalt' })
const Task = Type.Object({ id: Type.Integer(), title: Type.String() }, { $id: 'Task' })

class Prices extends ServerSideEventsView({ querystring: Type.Object({ symbol: Type.String() }), data: StockPrice, events: ['price', 'close'], tags: ['market'] }) {
  async * events () { yield { event: 'price' as const, data: { symbol: 'A', price: 1 } } }

  @sseRoute('/market', { events: { price: StockPrice, halt: TradingHalt }, summary: 'Prices and halts' })
  async * market () { yield { event: 'halt' as const, data: { reason: 'news' } } }
}

class Tasks extends ModelViewSet({ model: Task, id: Type.Integer() }) {
  list () { return [] }
  retrieve () { return null }
  create (body: Static<typeof Task>) { return body }
  update () { return null }
  partialUpdate () { return null }
  destroy () { return false }

  @sseRoute('/changes', { data: Task, events: ['changed'] }, { detail: true })
  async * changes () { yield { event: 'changed' as const, data: { id: this.params.id, title: 'x' } } }
}

const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetails' } } }
const LAST_EVENT_ID_PARAMETERS = [
  { schema: { type: 'string' }, in: 'query', name: 'lastEventId', required: false, description: 'Resume point, for clients that cannot send the Last-Event-ID header' },
  { schema: { type: 'string' }, in: 'header', name: 'last-event-id', required: false, description: 'The id of the last event received; sent by EventSource when it reconnects' }
]
const ID = { type: 'string', description: 'Event id; the client sends the last one back as Last-Event-ID when it reconnects' }
const RETRY = { type: 'integer', minimum: 0, description: 'Reconnection delay the client should use, in milliseconds' }
// @fastify/swagger rewrites a `const` into a one-value `enum` (its convertConstToEnum option, on by default).
const oneEvent = (name: string, data: string) => ({
  type: 'object',
  properties: { id: ID, event: { type: 'string', enum: [name] }, retry: RETRY, data: { $ref: `#/components/schemas/${data}` } },
  required: ['event', 'data']
})

/** The raw stream a 3.1 response shows in its description (its `example` is one event, as the schema describes it). */
function rawExample (response: { description: string }): string {
  const match = /\n\nFor example:\n\n```text\n([\s\S]*)\n```$/.exec(response.description)
  if (match === null) throw new Error(`no raw example in ${JSON.stringify(response.description)}`)
  return `${match[1]}\n\n`
}

function parse (example: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = []
  createParser({ onEvent: (event) => events.push(event) }).feed(example)
  return events
}

t.test('SSE operations are documented as text/event-stream with an event schema, an example and the resume inputs', async (t) => {
  const app = await buildApp(t, (router) => { router.registerView(Prices, { prefix: '/prices' }).registerView(Tasks, { prefix: '/tasks' }) })
  const document: any = await documentOf(app)
  t.same(await new Validator().validate(structuredClone(document)), { valid: true }, 'an independent validator accepts it')

  const prices = document.paths['/prices'].get
  const market = document.paths['/prices/market'].get
  const changes = document.paths['/tasks/{id}/changes'].get
  t.same([prices.operationId, market.operationId, changes.operationId], ['pricesEvents', 'pricesMarket', 'tasksChanges'])
  t.same([prices.tags, market.summary], [['market'], 'Prices and halts'])

  for (const [name, op] of [['events', prices], ['market', market], ['changes', changes]] as const) {
    const ok = op.responses['200']
    t.same(Object.keys(ok.content), ['text/event-stream'], `${name}: exactly one content type`)
    t.equal(ok.description.split('\n\n')[0], 'A stream of Server-Sent Events (text/event-stream); each event is described by the schema')
    t.equal(typeof ok.content['text/event-stream'].example, 'object', `${name}: the example is one event, as the schema describes it`)
    t.same(op.responses['400'], { description: 'Invalid request: the problem document lists each failing value in `errors`', content: PROBLEM })
    t.same(op.responses['500'], { description: 'Internal error (details are logged with the request id, never sent)', content: PROBLEM })
    t.same(op.parameters.filter((p: any) => p.name === 'lastEventId' || p.name === 'last-event-id'), LAST_EVENT_ID_PARAMETERS, `${name}: the resume inputs`)
  }

  // One data schema, names listed: an enum of the names.
  t.same(prices.responses['200'].content['text/event-stream'].schema, {
    description: 'One Server-Sent Event',
    type: 'object',
    properties: { id: ID, event: { type: 'string', enum: ['price', 'close'] }, retry: RETRY, data: { $ref: '#/components/schemas/StockPrice' } },
    required: ['event', 'data']
  })
  t.same(prices.parameters[0], { schema: { type: 'string' }, in: 'query', name: 'symbol', required: true })
  t.same(Object.keys(prices.responses).sort(), ['200', '400', '500'])

  // A schema per name: oneOf, each with its own name and data.
  t.same(market.responses['200'].content['text/event-stream'].schema, {
    description: 'One Server-Sent Event',
    oneOf: [oneEvent('price', 'StockPrice'), oneEvent('halt', 'TradingHalt')]
  })

  // A detail stream: the typed :id path parameter and a 404.
  t.same(changes.parameters.find((p: any) => p.in === 'path'), { schema: { type: 'integer' }, in: 'path', name: 'id', required: true })
  t.same(Object.keys(changes.responses).sort(), ['200', '400', '404', '500'])
  t.same(changes.responses['404'], { description: 'Not found', content: PROBLEM })

  t.same(Object.keys(document.components.schemas).sort(), ['ProblemDetails', 'StockPrice', 'Task', 'TradingHalt', 'ValidationIssue'])

  // The raw examples are real event streams: parsed, each frame names a documented event and carries JSON data.
  const uuid = '0195b4d2-7c3e-7d1a-9f1e-3a2b1c0d9e8f'
  t.same(parse(rawExample(prices.responses['200'])), [{ id: uuid, event: 'price', data: '{"symbol":"","price":0}' }])
  t.same(parse(rawExample(market.responses['200'])), [
    { id: uuid, event: 'price', data: '{"symbol":"","price":0}' },
    { id: uuid, event: 'halt', data: '{"reason":""}' }
  ])
  t.same(parse(rawExample(changes.responses['200'])), [{ id: uuid, event: 'changed', data: '{"id":0,"title":""}' }])
  // The media-type example is the stream's first event with its data parsed: it conforms to the schema.
  t.same(prices.responses['200'].content['text/event-stream'].example, { id: uuid, event: 'price', data: { symbol: '', price: 0 } })
  t.same(market.responses['200'].content['text/event-stream'].example, { id: uuid, event: 'price', data: { symbol: '', price: 0 } })
  t.same(changes.responses['200'].content['text/event-stream'].example, { id: uuid, event: 'changed', data: { id: 0, title: '' } })
})

t.test('a definition may give its own example and operationId', async (t) => {
  class Custom extends ServerSideEventsView({ data: Type.Integer(), operationId: 'watchCounter', example: 'id: 1\ndata: 1\n\n', description: 'Counts' }) {
    async * events () { yield { data: 1 } }
  }
  const app = await buildApp(t, (router) => { router.registerView(Custom, { prefix: '/counter' }) })
  const document: any = await documentOf(app)
  t.same(await new Validator().validate(structuredClone(document)), { valid: true })
  const op = document.paths['/counter'].get
  t.same([op.operationId, op.description, rawExample(op.responses['200'])], ['watchCounter', 'Counts', 'id: 1\ndata: 1\n\n'])
  t.same(op.responses['200'].content['text/event-stream'].example, { id: '1', data: 1 })
  t.same(op.responses['200'].content['text/event-stream'].schema.properties.data, { type: 'integer' })
  t.same(op.responses['200'].content['text/event-stream'].schema.required, ['data'], 'no names listed: the event name is optional')
})
