/**
 * The `text/event-stream` responses of a finished OpenAPI document, described for the document's version.
 * Routes document a stream as `{ schema: <one event as a JSON object>, example: <the raw stream> }`
 * (lib/sse/event-schema.ts, lib/topics/subscription-view.ts); this pass, run on the whole document, turns
 * that into what each version's tools read:
 *
 *   3.1  `schema` stays the event object (data as its parsed JSON, the model generators type); `example`
 *        becomes one event as that object, so it conforms to the schema, and the raw stream moves into
 *        the response description as a fenced block.
 *   3.2  `itemSchema` (OAS 3.2 "Special Considerations for text/event-stream Content", the media-type
 *        registry's model of one event: `{ data, event, id, retry }`, fields as strings); JSON data is
 *        `{ type: string, contentMediaType: application/json, contentSchema: <its schema> }`, a string
 *        schema's data stays that string; the raw stream is the Example Object's `serializedValue`.
 *
 * It works on the document, not on the route builders, so every producer of event-stream responses
 * (views, @sseRoute, topic subscriptions, a topic catalog) is described the same way.
 */

export const EVENT_STREAM_MEDIA_TYPE = 'text/event-stream'

type Json = Record<string, unknown>
type Version = '3.1' | '3.2'

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value)

/** The `major.minor` of a document's `openapi` field; anything but 3.2 is described as 3.1. */
function versionOf (document: Json): Version {
  return typeof document.openapi === 'string' && document.openapi.startsWith('3.2') ? '3.2' : '3.1'
}

/** A local `#/components/schemas/X` reference's target, or the schema itself. */
function resolve (schema: unknown, document: Json): unknown {
  if (!isObject(schema) || typeof schema.$ref !== 'string') return schema
  const match = /^#\/components\/schemas\/(.+)$/.exec(schema.$ref)
  const schemas = (document.components as Json | undefined)?.schemas as Json | undefined
  return match === null ? schema : schemas?.[decodeURIComponent(match[1]).replace(/~1/g, '/').replace(/~0/g, '~')] ?? schema
}

/** Sent as the string itself, not JSON: the rule of the event codec (a data schema of `type: 'string'`). */
function isRawString (data: unknown, document: Json): boolean {
  const target = resolve(data, document)
  return isObject(target) && target.type === 'string'
}

/** The `data` of one event as 3.2 models it: a string, whose content is JSON of the data's schema. */
function dataItem (data: unknown, document: Json): unknown {
  if (data === undefined || isRawString(data, document)) return data
  const { description, ...contentSchema } = isObject(data) ? data : {}
  return {
    type: 'string',
    ...(typeof description === 'string' ? { description } : {}),
    contentMediaType: 'application/json',
    // A `$ref` keeps its description beside it (2020-12 allows siblings); an inline schema loses nothing.
    contentSchema: isObject(data) && typeof data.$ref === 'string' ? data : contentSchema
  }
}

/** One event schema (or a `oneOf` / `anyOf` of them, or a reference to one) as its 3.2 item schema. */
function itemSchema (schema: unknown, document: Json): unknown {
  if (!isObject(schema)) return schema
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(schema[key])) return { ...schema, [key]: (schema[key] as unknown[]).map((branch) => itemSchema(branch, document)) }
  }
  const target = resolve(schema, document)
  if (target !== schema) {
    // A referenced event object is converted inline: the component may also be used where data is parsed JSON.
    return isObject(target) && isObject(target.properties) && 'data' in target.properties ? itemSchema(target, document) : schema
  }
  const properties = schema.properties
  if (!isObject(properties) || !('data' in properties)) return schema
  return { ...schema, properties: { ...properties, data: dataItem(properties.data, document) } }
}

interface ParsedEvent { id?: string, event?: string, data: string, retry?: number }

/** The events of a raw stream (WHATWG "interpret an event stream", enough for documentation examples). */
export function parseEventStream (text: string): ParsedEvent[] {
  const events: ParsedEvent[] = []
  let current: { id?: string, event?: string, data?: string[], retry?: number } = {}
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (current.data !== undefined) events.push({ ...current, data: current.data.join('\n') } as ParsedEvent)
      current = {}
      continue
    }
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') (current.data ??= []).push(value)
    else if (field === 'event') current.event = value
    else if (field === 'id' && !value.includes('\0')) current.id = value
    else if (field === 'retry' && /^\d+$/.test(value)) current.retry = Number(value)
  }
  return events
}

/** The schema of the data of an event named `name` in an event schema (a `oneOf` branch whose `event` is that name). */
function dataSchemaOf (schema: unknown, name: string | undefined, document: Json): unknown {
  const target = resolve(schema, document)
  if (!isObject(target)) return undefined
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (!Array.isArray(target[key])) continue
    for (const branch of target[key] as unknown[]) {
      const event = (resolve(branch, document) as Json | undefined)?.properties as Json | undefined
      const names = isObject(event?.event) ? (event.event.const !== undefined ? [event.event.const] : event.event.enum) : undefined
      if (!Array.isArray(names) || names.includes(name)) return dataSchemaOf(branch, name, document)
    }
    return undefined
  }
  return (target.properties as Json | undefined)?.data
}

/** The first event of a raw example as the event object the 3.1 schema describes (data parsed where it is JSON). */
function exampleEvent (raw: string, schema: unknown, document: Json): Json | undefined {
  const first = parseEventStream(raw)[0]
  if (first === undefined) return undefined
  let data: unknown = first.data
  if (!isRawString(dataSchemaOf(schema, first.event, document), document)) {
    try { data = JSON.parse(first.data) } catch { return undefined }
  }
  return { ...first, data }
}

function fenced (raw: string): string {
  const fence = raw.includes('```') ? '~~~~' : '```'
  return `${fence}text\n${raw.replace(/\n+$/, '')}\n${fence}`
}

function describeResponse (response: Json, document: Json, version: Version): void {
  const content = response.content
  if (!isObject(content)) return
  const media = content[EVENT_STREAM_MEDIA_TYPE]
  if (!isObject(media) || media.schema === undefined) return
  const raw = typeof media.example === 'string' ? media.example : undefined
  if (version === '3.2') {
    const { schema, example, ...rest } = media
    content[EVENT_STREAM_MEDIA_TYPE] = {
      itemSchema: itemSchema(schema, document),
      ...rest,
      ...(raw === undefined
        ? (example === undefined ? {} : { example })
        : { examples: { stream: { summary: 'The raw event stream', serializedValue: raw } } })
    }
    return
  }
  if (raw === undefined) return
  const event = exampleEvent(raw, media.schema, document)
  if (event === undefined) delete media.example
  else media.example = event
  const description = typeof response.description === 'string' ? response.description : ''
  response.description = `${description}${description === '' ? '' : '\n\n'}For example:\n\n${fenced(raw)}`
}

/**
 * Describes every `text/event-stream` response of an OpenAPI document for its version (see the header)
 * and returns the described copy (the input may share objects with route schemas: it is left unchanged).
 * For an app that registers @fastify/swagger itself:
 * `transformObject: ({ openapiObject }) => describeEventStreams(openapiObject)`.
 */
export function describeEventStreams<T extends object> (input: T): T {
  const document = structuredClone(input)
  const root = document as unknown as Json
  const version = versionOf(root)
  const described = new Set<object>()
  const visit = (response: unknown): void => {
    if (!isObject(response) || described.has(response)) return
    described.add(response)
    describeResponse(response, root, version)
  }
  for (const item of Object.values(isObject(root.paths) ? root.paths : {})) {
    if (!isObject(item)) continue
    for (const operation of Object.values(item)) {
      if (isObject(operation) && isObject(operation.responses)) Object.values(operation.responses).forEach(visit)
    }
  }
  const responses = (root.components as Json | undefined)?.responses
  if (isObject(responses)) Object.values(responses).forEach(visit)
  return document
}
