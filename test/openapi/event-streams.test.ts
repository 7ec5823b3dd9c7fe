/**
 * Event streams in OpenAPI 3.1 and 3.2: the pure document pass (describeEventStreams) on every shape a
 * route can produce, and apps generating each version, checked by an independent validator.
 */
import t from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Type } from '@sinclair/typebox'
import { createApp, describeEventStreams, MemoryBroker, ServerSideEventsView, sseRoute, SubscriptionView, ViewRouter } from '../../lib/index.js'
import { documentOf } from '../../scripts/openapi-documents.js'

const PRICE = { type: 'object', properties: { symbol: { type: 'string' }, price: { type: 'number' } } }
const RAW = 'id: 7\nevent: price\ndata: {"symbol":"A",\ndata: "price":1}\n\n: a comment\nevent: halt\ndata: {"reason":"news"}\n\n'

const eventObject = (event: object, data: unknown) => ({
  type: 'object',
  properties: { id: { type: 'string' }, event, retry: { type: 'integer', minimum: 0 }, data },
  required: ['event', 'data']
})

/** A document with one event-stream operation whose media type is `media`. */
function documentWith (openapi: string, media: object, schemas: object = {}): any {
  return {
    openapi,
    info: { title: 't', version: '1' },
    components: { schemas },
    paths: { '/s': { get: { responses: { 200: { description: 'A stream', content: { 'text/event-stream': media } } } } } }
  }
}
const mediaOf = (document: any) => document.paths['/s'].get.responses['200'].content['text/event-stream']

t.test('3.2: itemSchema, JSON data as contentMediaType + contentSchema, the raw stream as serializedValue', async (t) => {
  const input = documentWith('3.2.0', { schema: eventObject({ type: 'string', enum: ['price'] }, { $ref: '#/components/schemas/Price' }), example: RAW }, { Price: PRICE })
  const before = structuredClone(input)
  const output = describeEventStreams(input)
  t.same(input, before, 'the input is left unchanged (it may share objects with route schemas)')
  t.same(mediaOf(output), {
    itemSchema: eventObject({ type: 'string', enum: ['price'] }, { type: 'string', contentMediaType: 'application/json', contentSchema: { $ref: '#/components/schemas/Price' } }),
    examples: { stream: { summary: 'The raw event stream', serializedValue: RAW } }
  })
  t.equal(output.paths['/s'].get.responses['200'].description, 'A stream', 'the description is not touched in 3.2')
  t.same(output.components.schemas.Price, PRICE, 'a data component stays what it was: the data, parsed')
  t.same(describeEventStreams(output), output, 'a described document is described already')
})

t.test('3.2: each branch of a oneOf, a referenced event object, string data and inline data with a description', async (t) => {
  const input = documentWith('3.2.0', {
    schema: {
      description: 'One Server-Sent Event',
      oneOf: [
        eventObject({ type: 'string', enum: ['price'] }, { description: 'A price', type: 'object', properties: { price: { type: 'number' } } }),
        eventObject({ type: 'string', enum: ['note'] }, { type: 'string', maxLength: 10 }),
        eventObject({ type: 'string', enum: ['label'] }, { $ref: '#/components/schemas/Label' }),
        { $ref: '#/components/schemas/Halt' }
      ]
    }
  }, { Label: { type: 'string' }, Halt: eventObject({ type: 'string', enum: ['halt'] }, { type: 'object' }) })
  const output = describeEventStreams(input)
  const [price, note, label, halt] = mediaOf(output).itemSchema.oneOf
  t.same(price.properties.data, { type: 'string', description: 'A price', contentMediaType: 'application/json', contentSchema: { type: 'object', properties: { price: { type: 'number' } } } })
  t.same(note.properties.data, { type: 'string', maxLength: 10 }, 'a string schema is sent as the string itself: no JSON content')
  t.same(label.properties.data, { $ref: '#/components/schemas/Label' }, 'a reference to a string schema too')
  t.same(halt, eventObject({ type: 'string', enum: ['halt'] }, { type: 'string', contentMediaType: 'application/json', contentSchema: { type: 'object' } }), 'a referenced event object is converted inline')
  t.same(output.components.schemas.Halt, input.components.schemas.Halt, 'and its component is left as it was')
  t.equal(mediaOf(output).itemSchema.description, 'One Server-Sent Event')
  t.notOk('schema' in mediaOf(output), 'itemSchema replaces schema (the stream is not one JSON value)')
})

t.test('3.1: the example becomes the first event as the schema describes it, the raw stream moves into the description', async (t) => {
  const schema = { oneOf: [eventObject({ type: 'string', enum: ['price'] }, { $ref: '#/components/schemas/Price' }), eventObject({ type: 'string', enum: ['halt'] }, { type: 'object' })] }
  const output = describeEventStreams(documentWith('3.1.0', { schema, example: RAW }, { Price: PRICE }))
  t.same(mediaOf(output), { schema, example: { id: '7', event: 'price', data: { symbol: 'A', price: 1 } } }, 'multi-line data joined, then parsed')
  t.equal(output.paths['/s'].get.responses['200'].description, `A stream\n\nFor example:\n\n\`\`\`text\n${RAW.replace(/\n+$/, '')}\n\`\`\``)
  t.same(describeEventStreams(output), output, 'a described document is described already')

  const text = describeEventStreams(documentWith('3.1.0', { schema: eventObject({ type: 'string' }, { type: 'string' }), example: 'data: not json\n\n' }))
  t.same(mediaOf(text).example, { data: 'not json' }, 'string data stays a string')

  const broken = describeEventStreams(documentWith('3.1.0', { schema: eventObject({ type: 'string' }, { type: 'object' }), example: 'data: {oops\n\n' }))
  t.notOk('example' in mediaOf(broken), 'an example whose JSON data does not parse is dropped rather than left invalid')
  t.match(broken.paths['/s'].get.responses['200'].description, 'data: {oops', 'and still shown raw')

  const fence = describeEventStreams(documentWith('3.1.0', { schema: eventObject({ type: 'string' }, { type: 'string' }), example: 'data: ```\n\n' }))
  t.match(fence.paths['/s'].get.responses['200'].description, /~~~~text\ndata: ```\n~~~~$/, 'a raw stream holding a fence gets another fence')

  const empty = describeEventStreams(documentWith('3.1.0', { schema: eventObject({ type: 'string' }, { type: 'object' }), example: ': only a comment\n\n' }))
  t.notOk('example' in mediaOf(empty), 'a raw stream without an event gives no example')

  const other = documentWith('3.1.0', { schema: { type: 'object' } })
  t.same(describeEventStreams(other), other, 'a stream without a raw example is left as it is')
})

t.test('apps generate 3.1 (the default) or 3.2; servers, license and the security requirement are always present', async (t) => {
  const Price = Type.Object({ symbol: Type.String(), price: Type.Number() }, { $id: 'Price' })
  class Prices extends ServerSideEventsView({ data: Price, events: ['price'] }) {
    async * events () { yield { event: 'price' as const, data: { symbol: 'A', price: 1 } } }
    @sseRoute('/notes', { data: Type.String() })
    async * notes () { yield { data: 'hi' } }
  }
  async function documentIn (options: object): Promise<any> {
    const app = await createApp({ env: {}, fastify: { logger: false }, broker: new MemoryBroker(), ...options })
    t.teardown(() => app.close())
    await app.register(new ViewRouter().registerView(Prices, { prefix: '/prices' }).registerView(SubscriptionView(), { prefix: '/events' }).plugin)
    return documentOf(app)
  }
  const v31 = await documentIn({})
  const v32 = await documentIn({ openapiVersion: '3.2.0', license: { name: 'MIT', identifier: 'MIT' }, servers: [{ url: 'https://api.example.org' }] })
  for (const [document, version] of [[v31, '3.1'], [v32, '3.2']] as const) {
    const validator = new Validator()
    t.same(await validator.validate(structuredClone(document)), { valid: true }, `${version}: an independent validator accepts it`)
    t.equal(validator.version, version)
  }
  t.equal(v31.openapi, '3.1.0')
  t.same([v31.servers, v31.security, v31.info.license], [[{ url: '/' }], [], undefined], 'defaults: the serving host, and no requirement said explicitly')
  t.same([v32.servers, v32.info.license], [[{ url: 'https://api.example.org' }], { name: 'MIT', identifier: 'MIT' }])

  t.equal(v32.openapi, '3.2.0')
  const prices = v32.paths['/prices'].get.responses['200'].content['text/event-stream']
  t.same(Object.keys(prices).sort(), ['examples', 'itemSchema'])
  t.same(prices.itemSchema.properties.data, { type: 'string', contentMediaType: 'application/json', contentSchema: { $ref: '#/components/schemas/Price' } })
  t.match(prices.examples.stream.serializedValue, /^id: .+\nevent: price\ndata: \{"symbol":"","price":0\}\n\n$/)
  t.same(v32.paths['/prices/notes'].get.responses['200'].content['text/event-stream'].itemSchema.properties.data, { type: 'string' }, 'string data: the string itself')
  const topics = v32.paths['/events'].get.responses['200'].content['text/event-stream']
  t.same(topics.itemSchema.properties.data, { type: 'string', description: 'The published data (JSON)', contentMediaType: 'application/json', contentSchema: {} })
  t.match(topics.examples.stream.serializedValue, 'event: subscribed\ndata: {"topics":["tasks"]}\n\n')

  t.same(v31.paths['/prices'].get.responses['200'].content['text/event-stream'].schema.properties.data, { $ref: '#/components/schemas/Price' }, '3.1 keeps data as its parsed JSON')
})

t.test('an unknown OpenAPI version stops startup naming the setting and the versions it accepts', async (t) => {
  await t.rejects(createApp({ env: {}, fastify: { logger: false }, openapiVersion: '3.0.3' as any }), {
    code: 'FVIEWS_ERR_OPTION_INVALID',
    message: /openapiVersion.*'3\.1\.0' \(default\) or '3\.2\.0'/
  })
  await t.rejects(createApp({ env: {}, fastify: { logger: false }, license: { url: 'https://x' } as any }), { code: 'FVIEWS_ERR_OPTION_INVALID', message: /license/ })
})

t.test("an app's own @fastify/swagger gets the same description through openapiTransformObject", async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: swagger } = await import('@fastify/swagger')
  const { default: fastifyViews, openapiRefResolver, openapiTransformObject } = await import('../../lib/index.js')
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { openapi: '3.2.0', info: { title: 'Mine', version: '1.0.0' } }, refResolver: openapiRefResolver, transformObject: openapiTransformObject })
  await app.register(fastifyViews)
  class Ticks extends ServerSideEventsView({ data: Type.Object({ n: Type.Integer() }), events: ['tick'] }) {
    async * events () { yield { event: 'tick' as const, data: { n: 1 } } }
  }
  await app.register(new ViewRouter().registerView(Ticks, { prefix: '/ticks' }).plugin)
  const document: any = await documentOf(app)
  t.same(await new Validator().validate(structuredClone(document)), { valid: true })
  const media = document.paths['/ticks'].get.responses['200'].content['text/event-stream']
  t.same(media.itemSchema.properties.data, { type: 'string', contentMediaType: 'application/json', contentSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } })
  t.same(media.examples.stream.serializedValue.split('\n').slice(1), ['event: tick', 'data: {"n":0}', '', ''])
})

t.test('malformed documents and odd streams: nothing throws, only event-stream responses change', async (t) => {
  for (const document of [{}, { openapi: '3.2.0', paths: null }, { openapi: 3, paths: { '/a': null, '/b': { get: null, summary: 'x' }, '/c': { get: { responses: null } } } },
    { openapi: '3.2.0', paths: { '/a': { get: { responses: { 200: { content: [] }, 201: null, 202: { content: { 'text/event-stream': null } } } } } } }]) {
    t.same(describeEventStreams(document), document, JSON.stringify(document))
  }
  const json = { 'application/json': { schema: { type: 'object' }, example: 'event: x\ndata: 1\n\n' } }
  const untouched = documentWith('3.2.0', { schema: eventObject({ type: 'string' }, { type: 'object' }) })
  untouched.paths['/s'].get.responses['200'].content = { ...untouched.paths['/s'].get.responses['200'].content, ...json }
  t.same(describeEventStreams(untouched).paths['/s'].get.responses['200'].content['application/json'], json['application/json'], 'another media type is left alone')

  const objectExample = describeEventStreams(documentWith('3.2.0', { schema: eventObject({ type: 'string' }, { type: 'object' }), example: { data: '{}' } }))
  t.same(mediaOf(objectExample).example, { data: '{}' }, 'an example that is not a raw stream stays as given')

  const missing = describeEventStreams(documentWith('3.2.0', { schema: { $ref: '#/components/schemas/Nowhere' } }))
  t.same(mediaOf(missing).itemSchema, { $ref: '#/components/schemas/Nowhere' }, 'a reference to nothing stays a reference')
  const escaped = describeEventStreams(documentWith('3.2.0', { schema: eventObject({ type: 'string' }, { $ref: '#/components/schemas/a~1b' }) }, { 'a/b': { type: 'string' } }))
  t.same(mediaOf(escaped).itemSchema.properties.data, { $ref: '#/components/schemas/a~1b' }, 'a JSON-pointer-escaped reference is resolved')

  // A stream parsed as the WHATWG algorithm says: CRLF and CR line ends, a field without a colon, an id with NUL ignored, a bad retry ignored.
  const odd = describeEventStreams(documentWith('3.1.0', { schema: eventObject({ type: 'string' }, { type: 'string' }), example: 'retry: soon\r\nid: a\0b\r\ndata\rdata:x\n\n' }))
  t.same(mediaOf(odd).example, { data: '\nx' })

  // A response object shared by two operations is described once.
  const shared = { description: 'Shared', content: { 'text/event-stream': { schema: eventObject({ type: 'string' }, { type: 'object' }), example: 'data: {}\n\n' } } }
  const twice = describeEventStreams({ openapi: '3.1.0', paths: { '/a': { get: { responses: { 200: shared } } }, '/b': { get: { responses: { 200: shared } } } }, components: { responses: { Stream: shared } } })
  t.equal(twice.paths['/a'].get.responses['200'].description, 'Shared\n\nFor example:\n\n```text\ndata: {}\n```')
  t.equal(twice.paths['/b'].get.responses['200'], twice.paths['/a'].get.responses['200'])
})

t.test("every event stream a view or subscription documents is described conformingly: 3.1 examples fit the schema, 3.2's raw events fit itemSchema and their data contentSchema", async (t) => {
  const { Ajv2020 } = await import('ajv/dist/2020.js')
  const Quote = Type.Object({ symbol: Type.String({ minLength: 1 }), price: Type.Number() })
  const definitions: Record<string, object> = {
    'one-data-schema': { data: Quote, events: ['price', 'close'] },
    'a-schema-per-event': { events: { price: Quote, note: Type.String(), count: Type.Integer() } },
    'string-data': { data: Type.String() },
    'any-json': {}
  }
  // Through the public API only, so the test follows the builders wherever they live.
  async function documentIn (openapiVersion: '3.1.0' | '3.2.0'): Promise<any> {
    const app = await createApp({ env: {}, fastify: { logger: false }, broker: new MemoryBroker(), openapiVersion })
    t.teardown(() => app.close())
    const router = new ViewRouter().registerView(SubscriptionView(), { prefix: '/topics' })
    for (const [label, definition] of Object.entries(definitions)) {
      const Stream = ServerSideEventsView(definition as any)
      router.registerView(class extends Stream { async * events (): AsyncGenerator<never> {} }, { prefix: `/${label}`, name: label.replace(/-/g, '') })
    }
    await app.register(router.plugin)
    return documentOf(app)
  }
  const [v31, v32] = [await documentIn('3.1.0'), await documentIn('3.2.0')]
  const ajv = new Ajv2020({ strict: false })
  for (const path of [...Object.keys(definitions).map((label) => `/${label}`), '/topics']) {
    const media31 = v31.paths[path].get.responses['200'].content['text/event-stream']
    t.ok(ajv.validate(media31.schema, media31.example), `${path}, 3.1: the example event conforms to the schema ${JSON.stringify(ajv.errors)}`)

    const media32 = v32.paths[path].get.responses['200'].content['text/event-stream']
    const item = media32.itemSchema
    const raw = parseEventStreamFor(media32.examples.stream.serializedValue)
    t.ok(raw.length >= 1, `${path}, 3.2: the example has events`)
    for (const event of raw) {
      t.ok(ajv.validate(item, event), `${path}, 3.2: ${JSON.stringify(event)} conforms to itemSchema ${JSON.stringify(ajv.errors)}`)
      const branch = item.oneOf === undefined ? item : item.oneOf.find((candidate: any) => candidate.properties.event.enum?.includes(event.event) ?? candidate.properties.event.const === event.event)
      const data = branch.properties.data
      if (data.contentMediaType === 'application/json') {
        t.ok(ajv.validate(data.contentSchema, JSON.parse(event.data as string)), `${path}, 3.2: its data is JSON of the contentSchema`)
      } else {
        t.equal(data.type, 'string', `${path}, 3.2: data that is not JSON is a string schema`)
        t.ok(ajv.validate(data, event.data))
      }
    }
  }
})

/** The events of a raw stream as the OAS 3.2 model sees them: fields as strings, retry a number. */
function parseEventStreamFor (raw: string): Array<Record<string, unknown>> {
  return raw.split('\n\n').filter((frame) => frame !== '').map((frame) => {
    const event: Record<string, unknown> = {}
    for (const line of frame.split('\n')) {
      const [field, ...rest] = line.split(': ')
      event[field] = field === 'data' && typeof event.data === 'string' ? `${event.data}\n${rest.join(': ')}` : rest.join(': ')
    }
    return event
  })
}
