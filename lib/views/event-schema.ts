/**
 * The schema of the events of one SSE route, written once and used three ways: a compiled validator for
 * every yielded event, a compiled serializer for its data, and the OpenAPI description of the stream.
 *
 *   { data: StockPrice, events: ['price'] }          every event's data is a StockPrice; names are listed
 *   { events: { price: StockPrice, halt: Halt } }    each event name has its own data schema
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import fastJsonStringify from 'fast-json-stringify'
import { FVIEWS_ERR_SSE_INVALID_EVENT, FVIEWS_ERR_VIEW_INVALID } from '../errors.js'
import { encodeFrame } from '../sse/encoder.js'

export interface EventSchemaDefinition {
  /** Schema of every event's data (default: any JSON). A string schema sends the string itself. */
  data?: TSchema
  /** The event names a stream may send, or a schema per event name (then without `data`). */
  events?: readonly string[] | Readonly<Record<string, TSchema>>
}

interface DataCodec {
  /** A string schema: the data is the string itself, not JSON. */
  raw: boolean
  check: (value: unknown) => boolean
  errors: (value: unknown) => string
  stringify: (value: unknown) => string
}

export interface CompiledEvents {
  /** Validates one event and returns its serialised data; throws FVIEWS_ERR_SSE_INVALID_EVENT. */
  serialize: (event: string | undefined, data: unknown) => string
  /** Whether the event's data is sent as a raw string (a string schema) rather than JSON. */
  raw: (event: string | undefined) => boolean
  /** Validates one event without serialising it (its JSON is already at hand); throws like serialize. */
  validate: (event: string | undefined, data: unknown) => void
  /** The JSON schema of one event, for OpenAPI. */
  documentation: Record<string, unknown>
  /** A raw text/event-stream example. */
  example: string
}

const EXAMPLE_ID = '0195b4d2-7c3e-7d1a-9f1e-3a2b1c0d9e8f'

function stringifier (schema: TSchema): (value: unknown) => string {
  if (schema.type === 'string') return (value) => value as string
  // Unions and intersections too (a relay view's `Type.Union([User, Subscribed])`): JSON.stringify would
  // send properties the schema does not declare.
  if (schema.type === 'object' || schema.type === 'array' || schema.anyOf !== undefined || schema.oneOf !== undefined || schema.allOf !== undefined) {
    // A schema-compiled serializer beats JSON.stringify on known shapes; it also drops properties the
    // schema does not declare, as Fastify's response serialization does.
    try {
      return fastJsonStringify(schema as any) as (value: unknown) => string
    } catch { /* a schema it cannot compile: fall back */ }
  }
  return (value) => value === undefined ? '' : JSON.stringify(value)
}

function codec (schema: TSchema): DataCodec {
  const compiled = TypeCompiler.Compile(schema)
  return {
    raw: schema.type === 'string',
    check: (value) => compiled.Check(value),
    errors: (value) => [...compiled.Errors(value)].slice(0, 3).map((error) => `data${error.path} ${error.message.toLowerCase()}`).join('; '),
    stringify: stringifier(schema)
  }
}

function exampleData (schema: TSchema): string {
  try {
    const value = Value.Create(schema)
    return schema.type === 'string' ? String(value) : JSON.stringify(value)
  } catch {
    return '{}'
  }
}

function eventObject (name: string | undefined, names: readonly string[] | undefined, data: TSchema): Record<string, unknown> {
  const event = name !== undefined
    ? { type: 'string', const: name }
    : names !== undefined ? { type: 'string', enum: [...names] } : { type: 'string', description: 'Event name; absent means `message`' }
  return {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'Event id; the client sends the last one back as Last-Event-ID when it reconnects' },
      event,
      retry: { type: 'integer', minimum: 0, description: 'Reconnection delay the client should use, in milliseconds' },
      data
    },
    required: name !== undefined || names !== undefined ? ['event', 'data'] : ['data']
  }
}

export function compileEvents (definition: EventSchemaDefinition, where: string): CompiledEvents {
  const events = definition.events
  if (events !== undefined && !Array.isArray(events)) {
    if (definition.data !== undefined) throw new FVIEWS_ERR_VIEW_INVALID(where, "give either 'data' or a schema per event in 'events', not both")
    const byName = new Map<string, DataCodec>()
    const entries = Object.entries(events as Record<string, TSchema>)
    if (entries.length === 0) throw new FVIEWS_ERR_VIEW_INVALID(where, "'events' names no event")
    for (const [name, schema] of entries) byName.set(name, codec(schema))
    const known = entries.map(([name]) => name).join(', ')
    return {
      serialize (event, data) {
        const named = event === undefined ? undefined : byName.get(event)
        if (named === undefined) throw new FVIEWS_ERR_SSE_INVALID_EVENT(`event '${String(event)}' is not one of: ${known}`)
        if (!named.check(data)) throw new FVIEWS_ERR_SSE_INVALID_EVENT(`event '${event}': ${named.errors(data)}`)
        return named.stringify(data)
      },
      validate (event, data) {
        const named = event === undefined ? undefined : byName.get(event)
        if (named === undefined) throw new FVIEWS_ERR_SSE_INVALID_EVENT(`event '${String(event)}' is not one of: ${known}`)
        if (!named.check(data)) throw new FVIEWS_ERR_SSE_INVALID_EVENT(`event '${event}': ${named.errors(data)}`)
      },
      raw: (event) => event !== undefined && byName.get(event)?.raw === true,
      documentation: { description: 'One Server-Sent Event', oneOf: entries.map(([name, schema]) => eventObject(name, undefined, schema)) },
      example: entries.map(([name, schema]) => encodeFrame({ id: EXAMPLE_ID, event: name, data: exampleData(schema) })).join('')
    }
  }
  const names = events as readonly string[] | undefined
  const data = definition.data ?? Type.Unknown({ description: 'Any JSON value' })
  const single = codec(data)
  const allowed = names === undefined ? undefined : new Set(names)
  const listed = names?.join(', ')
  return {
    serialize (event, value) {
      if (allowed !== undefined && (event === undefined || !allowed.has(event))) {
        throw new FVIEWS_ERR_SSE_INVALID_EVENT(`event '${String(event)}' is not one of: ${listed}`)
      }
      if (!single.check(value)) throw new FVIEWS_ERR_SSE_INVALID_EVENT(single.errors(value))
      return single.stringify(value)
    },
    validate (event, value) {
      if (allowed !== undefined && (event === undefined || !allowed.has(event))) {
        throw new FVIEWS_ERR_SSE_INVALID_EVENT(`event '${String(event)}' is not one of: ${listed}`)
      }
      if (!single.check(value)) throw new FVIEWS_ERR_SSE_INVALID_EVENT(single.errors(value))
    },
    raw: () => single.raw,
    documentation: { description: 'One Server-Sent Event', ...eventObject(undefined, names, data) },
    example: encodeFrame({ id: EXAMPLE_ID, event: names?.[0], data: exampleData(data) })
  }
}
