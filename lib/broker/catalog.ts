/**
 * The topic catalog: every topic an app publishes and subscribes to, declared once with the events each
 * carries and a TypeBox schema per event's data.
 *
 *   const topics = defineTopics({
 *     'task:{id}': { params: Type.Object({ id: Type.Integer() }), events: { updated: Task, deleted: TaskRef } },
 *     announcements: { events: { posted: Note } }
 *   })
 *
 * A key is a fixed name (`announcements`) or a template whose `{param}` placeholders stand for one
 * non-empty part without `:` (`task:{id}` names `task:7`, never `task:7:comments`). The one value is:
 * - the type of `broker.publish` and of `publishEvent(topics, ...)`: a wrong topic, event or data does
 *   not compile (the `'~topics'` phantom member carries the map, as TypeBox's `static` does);
 * - the check at publish: data is validated by a compiled validator and serialised by its schema, so a
 *   property the schema does not declare does not leave (stripped, as Fastify's response serialisation
 *   does; declare `additionalProperties: false` to refuse it instead);
 * - the check at subscribe: a name the catalog does not know is refused, and a template's parameters
 *   are parsed (`{ id: 7 }`) for `authorize`;
 * - the check at delivery (`screen`): a broker with a catalog checks every event it reads from a shared
 *   backend that its own publish did not write (another service, an older version), once per event per
 *   process, and delivers it as the schema writes it - or not at all (docs/catalog.md);
 * - the OpenAPI description of a subscription: every event each topic can carry (`eventDefinition`).
 */
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import fastJsonStringify from 'fast-json-stringify'
import { FVIEWS_ERR_EVENT_INVALID, FVIEWS_ERR_TOPIC_CATALOG_INVALID, FVIEWS_ERR_TOPIC_CATALOG_OVERLAP, FVIEWS_ERR_TOPIC_UNKNOWN } from '../errors.js'
import { printableTopic, topicProblem } from './topic-names.js'

// ---- the declaration

export interface TopicDeclaration {
  /**
   * Schema of a template's parameters, one property per `{param}` (default: each a string). Values are
   * read from the topic name and converted (`Type.Integer()` gives a number), then checked.
   */
  readonly params?: TObject
  /** The events the topic carries, each with the schema of its data. */
  readonly events: Readonly<Record<string, TSchema>>
  /** Said of the topic in the OpenAPI document. */
  readonly description?: string
}

export type TopicsDefinition = Readonly<Record<string, TopicDeclaration>>

// ---- types drawn from a declaration

/** The placeholder names of a template: `'org:{org}:team:{team}'` -> 'org' | 'team'. */
export type TemplateParamNames<S extends string> = S extends `${string}{${infer K}}${infer Rest}` ? K | TemplateParamNames<Rest> : never

/** A template's parameters as `authorize` receives them: the params schema's type, or a string each. */
export type TemplateParams<D extends TopicDeclaration, S extends string> =
  D['params'] extends TObject ? Static<D['params']> : { [K in TemplateParamNames<S>]: string }

export type TemplateParamText<V> = V extends string | number | bigint | boolean ? `${V}` : string

/** The concrete names of a template: `'task:{id}'` with an integer `id` -> `task:${number}`. */
export type TemplateName<S extends string, P> = S extends `${infer Head}{${infer K}}${infer Rest}`
  ? `${Head}${TemplateParamText<K extends keyof P ? P[K] : string>}${TemplateName<Rest, P>}`
  : S

export type SchemaStaticOf<S> = S extends TSchema ? Static<S> : never

/** The map carried by a catalog's type: template -> event name -> data. */
export type TopicEventsMap<Def extends TopicsDefinition> = {
  [T in keyof Def]: { [E in keyof Def[T]['events']]: SchemaStaticOf<Def[T]['events'][E]> }
}

/** A catalog's map of template -> event name -> data type (keyed by the template as declared). */
export type TopicEventsOf<C> = C extends { readonly '~topics': infer M } ? M : never

export type CatalogDefinitionOf<C> = C extends TopicCatalog<infer D> ? D : never
export type CatalogTemplates<C> = keyof CatalogDefinitionOf<C> & string
export type CatalogNameOfTemplate<C, T extends CatalogTemplates<C>> = TemplateName<T, TemplateParams<CatalogDefinitionOf<C>[T], T>>

/** Every topic name a catalog accepts; `string` without a catalog. */
export type TopicNameOf<C> = [C] extends [AnyTopicCatalog] ? { [T in CatalogTemplates<C>]: CatalogNameOfTemplate<C, T> }[CatalogTemplates<C>] : string

/** The template(s) a concrete name belongs to. */
export type TemplateOfName<C, N extends string> = { [T in CatalogTemplates<C>]: N extends CatalogNameOfTemplate<C, T> ? T : never }[CatalogTemplates<C>]

export type IntersectionOf<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never

/** The events every one of the topics `N` carries; `string` without a catalog. */
export type TopicEventNameOf<C, N extends string> = [C] extends [AnyTopicCatalog]
  ? keyof TopicEventsOf<C>[TemplateOfName<C, N>] & string
  : string

/** The data of event `E` on the topics `N` (what satisfies all of them); `unknown` without a catalog. */
export type TopicEventDataOf<C, N extends string, E extends string> = [C] extends [AnyTopicCatalog]
  ? IntersectionOf<{ [T in TemplateOfName<C, N>]: TopicEventsOf<C>[T] extends infer M ? E extends keyof M ? M[E] : never : never }[TemplateOfName<C, N>]>
  : unknown

/** The templates that carry event `E`. */
export type TemplatesCarrying<C, E extends string> = { [T in CatalogTemplates<C>]: E extends keyof CatalogDefinitionOf<C>[T]['events'] ? T : never }[CatalogTemplates<C>]

/** Every event name of a catalog. */
export type CatalogEventName<C> = { [T in CatalogTemplates<C>]: keyof CatalogDefinitionOf<C>[T]['events'] & string }[CatalogTemplates<C>]

/** The data of event `E` wherever the catalog declares it. */
export type CatalogEventData<C, E extends string> = { [T in TemplatesCarrying<C, E>]: SchemaStaticOf<CatalogDefinitionOf<C>[T]['events'][E]> }[TemplatesCarrying<C, E>]

/** The names that carry event `E`: where a publish of `E` may go. */
export type TopicNameCarrying<C, E extends string> = { [T in TemplatesCarrying<C, E>]: CatalogNameOfTemplate<C, T> }[TemplatesCarrying<C, E>]

/**
 * What `authorize` learns of one requested topic: its template and parsed parameters, narrowed by the
 * template (`if (topic.template === 'task:{id}') topic.params.id`).
 */
export type CatalogTopic<C> = [C] extends [AnyTopicCatalog]
  ? { [T in CatalogTemplates<C>]: { readonly name: string, readonly template: T, readonly params: TemplateParams<CatalogDefinitionOf<C>[T], T> } }[CatalogTemplates<C>]
  : { readonly name: string, readonly template: string, readonly params: Record<string, unknown> }

// ---- the run-time catalog

/** The data of one event: a compiled check, and a serialiser that writes only what the schema declares. */
interface EventCodec {
  check: TypeCheck<TSchema>
  stringify: (value: unknown) => string
}

interface CompiledTopic {
  template: string
  declaration: TopicDeclaration
  /** Placeholder names in order (empty for a fixed name). */
  paramNames: string[]
  pattern: RegExp | undefined
  params: TypeCheck<TObject> | undefined
  events: Map<string, EventCodec>
}

/** A concrete topic name resolved against the catalog. */
export interface ResolvedTopic {
  name: string
  template: string
  params: Record<string, unknown>
}

/** Event names the subscription stream uses for itself: a topic cannot declare them. */
export const CONTROL_EVENT_NAMES: readonly string[] = ['subscribed', 'reset', 'heartbeat']

const PARAM_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function stringifier (schema: TSchema): (value: unknown) => string {
  if (schema.type === 'object' || schema.type === 'array' || schema.anyOf !== undefined || schema.oneOf !== undefined || schema.allOf !== undefined) {
    // The schema-compiled serialiser drops what the schema does not declare: what the catalog does not declare does not leave.
    try {
      return fastJsonStringify(schema as any) as (value: unknown) => string
    } catch { /* a schema it cannot compile: the validated value as it is */ }
  }
  return (value) => JSON.stringify(value)
}

function issues (check: TypeCheck<TSchema>, value: unknown, root: string): string {
  return [...check.Errors(value)].slice(0, 3).map((error) => `${root}${error.path} ${error.message.toLowerCase()}`).join('; ')
}

function isSchema (value: unknown): value is TSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function compileTopic (template: string, declaration: unknown): CompiledTopic {
  const invalid = (why: string) => new FVIEWS_ERR_TOPIC_CATALOG_INVALID(printableTopic(template), why)
  if (declaration === null || typeof declaration !== 'object') throw invalid('expected { events: { name: schema } }')
  const { events, params } = declaration as TopicDeclaration
  if (events === null || typeof events !== 'object' || Array.isArray(events) || Object.keys(events).length === 0) {
    throw invalid("'events' must name at least one event with its data schema, e.g. { events: { updated: Task } }")
  }
  // The template with each placeholder filled must be a valid topic name; braces elsewhere are refused.
  const paramNames: string[] = []
  const parts = template.split(/(\{[^{}]*\})/)
  let sample = ''
  let previousWasParam = false
  for (const part of parts) {
    if (part.startsWith('{') && part.endsWith('}') && part.length >= 2) {
      const name = part.slice(1, -1)
      if (!PARAM_NAME.test(name)) throw invalid(`parameter '${printableTopic(name)}' is not a plain name (letters, digits, _ and $)`)
      if (paramNames.includes(name)) throw invalid(`parameter '${name}' appears twice`)
      if (previousWasParam) throw invalid('two parameters must be separated by fixed text, e.g. {org}:{team}')
      paramNames.push(name)
      sample += 'x'
      previousWasParam = true
    } else if (part !== '') {
      sample += part
      previousWasParam = false
    }
  }
  const problem = topicProblem(sample)
  if (problem !== undefined) throw invalid(`${problem}${template.includes('{') || template.includes('}') ? ' (placeholders are {name})' : ''}`)
  let paramsCheck: TypeCheck<TObject> | undefined
  if (params !== undefined) {
    if (!isSchema(params) || params.type !== 'object' || params.properties === undefined) throw invalid("'params' must be a Type.Object with one property per {parameter}")
    const declared = Object.keys(params.properties)
    const missing = paramNames.filter((name) => !declared.includes(name))
    const extra = declared.filter((name) => !paramNames.includes(name))
    if (missing.length > 0 || extra.length > 0) {
      throw invalid(`'params' must declare exactly the template's parameters (${paramNames.join(', ') || 'none'}); ${missing.length > 0 ? `missing ${missing.join(', ')}` : `not in the template: ${extra.join(', ')}`}`)
    }
    paramsCheck = TypeCompiler.Compile(params)
  }
  const codecs = new Map<string, EventCodec>()
  for (const [name, schema] of Object.entries(events)) {
    if (name === '' || /[\r\n\0]/.test(name)) throw invalid(`event name '${printableTopic(name)}' is empty or contains CR, LF or NUL`)
    if (CONTROL_EVENT_NAMES.includes(name)) throw invalid(`event name '${name}' is the stream's own (${CONTROL_EVENT_NAMES.join(', ')}): choose another`)
    if (!isSchema(schema)) throw invalid(`event '${name}' needs a TypeBox schema of its data, e.g. Type.Object({ id: Type.Integer() })`)
    codecs.set(name, { check: TypeCompiler.Compile(schema), stringify: stringifier(schema) })
  }
  let pattern: RegExp | undefined
  if (paramNames.length > 0) {
    // A parameter is one non-empty part without ':' (task:{id} never names task:7:comments).
    pattern = new RegExp('^' + parts.map((part) => part.startsWith('{') && part.endsWith('}') && part.length >= 2 ? '([^:]+)' : escapeRegExp(part)).join('') + '$')
  }
  return { template, declaration: declaration as TopicDeclaration, paramNames, pattern, params: paramsCheck, events: codecs }
}

/** A template as a sequence of fixed characters and parameters (`null`: one or more characters other than ':'). */
function elementsOf (template: string): Array<string | null> {
  return template.split(/(\{[^{}]*\})/).flatMap((part) => part.startsWith('{') && part.endsWith('}') && part.length >= 2 ? [null] : [...part])
}

/**
 * A name both templates match, or undefined when none exists. Each template is a small automaton (a
 * state is an element index, and whether a parameter there has taken a character yet); the two are run
 * together over the characters of their fixed text plus one character neither has, breadth first, so the
 * name found is a shortest. Parameter schemas are not consulted: `user:{id}` (an integer) and
 * `user:{name}` (a string) both claim `user:7`, and which one wins would depend on declaration order.
 */
function sharedName (a: string, b: string): string | undefined {
  const left = elementsOf(a)
  const right = elementsOf(b)
  const fixed = new Set([...left, ...right].filter((element): element is string => element !== null))
  const other = [...'xyz0123456789_'].find((char) => !fixed.has(char)) ?? '\u00e9'
  // The character neither template has comes first, so a witness reads as 'user:x' rather than 'user:u'.
  const alphabet = [other, ...fixed]
  type State = [number, boolean]
  // A parameter that has taken a character may end: the state moves on to the next element at no cost.
  const closure = (elements: Array<string | null>, [index, inParam]: State): State[] => inParam ? [[index, true], [index + 1, false]] : [[index, false]]
  const step = (elements: Array<string | null>, [index, inParam]: State, char: string): State | undefined => {
    if (index >= elements.length) return undefined
    const element = elements[index]
    if (element === null) return char === ':' ? undefined : [index, true]
    return !inParam && element === char ? [index + 1, false] : undefined
  }
  const accepts = (elements: Array<string | null>, state: State): boolean => closure(elements, state).some(([index, inParam]) => index === elements.length && !inParam)
  const seen = new Set<string>()
  let frontier: Array<{ l: State, r: State, name: string }> = [{ l: [0, false], r: [0, false], name: '' }]
  while (frontier.length > 0) {
    const next: typeof frontier = []
    for (const { l, r, name } of frontier) {
      if (name !== '' && accepts(left, l) && accepts(right, r)) return name
      for (const ls of closure(left, l)) {
        for (const rs of closure(right, r)) {
          for (const char of alphabet) {
            const ln = step(left, ls, char)
            const rn = step(right, rs, char)
            if (ln === undefined || rn === undefined) continue
            const key = `${ln[0]},${String(ln[1])},${rn[0]},${String(rn[1])}`
            if (seen.has(key)) continue
            seen.add(key)
            next.push({ l: ln, r: rn, name: name + char })
          }
        }
      }
    }
    frontier = next
  }
  return undefined
}

export class TopicCatalog<Def extends TopicsDefinition = TopicsDefinition> {
  /** Type only (as TypeBox's `static`): template -> event -> data. Absent at run time. */
  declare readonly '~topics': TopicEventsMap<Def>
  readonly definition: Def
  private readonly fixed = new Map<string, CompiledTopic>()
  private readonly templates: CompiledTopic[] = []

  constructor (definition: Def) {
    if (definition === null || typeof definition !== 'object' || Array.isArray(definition) || Object.keys(definition).length === 0) {
      throw new FVIEWS_ERR_TOPIC_CATALOG_INVALID('(catalog)', "defineTopics() needs an object of topics, e.g. { 'task:{id}': { events: { updated: Task } } }")
    }
    this.definition = definition
    for (const [template, declaration] of Object.entries(definition)) {
      const compiled = compileTopic(template, declaration)
      if (compiled.pattern === undefined) { this.fixed.set(template, compiled); continue }
      // Two templates that can match one name made the first declared win, silently (a fixed name beside a
      // template is fine: an exact name always wins, whatever the order).
      for (const earlier of this.templates) {
        const shared = sharedName(earlier.template, template)
        if (shared !== undefined) throw new FVIEWS_ERR_TOPIC_CATALOG_OVERLAP(printableTopic(earlier.template), printableTopic(template), printableTopic(shared))
      }
      this.templates.push(compiled)
    }
  }

  /** The declared keys, fixed names and templates, in declaration order. */
  get keys (): string[] {
    return Object.keys(this.definition)
  }

  /** The template and parameters of a concrete name, or why the catalog does not know it. */
  resolve (topic: string): ResolvedTopic | { problem: string } {
    const fixed = this.fixed.get(topic)
    if (fixed !== undefined) return { name: topic, template: fixed.template, params: {} }
    let problem: string | undefined
    for (const compiled of this.templates) {
      const match = compiled.pattern?.exec(topic)
      if (match === null || match === undefined) continue
      let params: Record<string, unknown> = {}
      const written: Record<string, string> = {}
      compiled.paramNames.forEach((name, i) => { params[name] = written[name] = match[i + 1] })
      if (compiled.params !== undefined) {
        const converted = Value.Convert(compiled.params.Schema(), params) as Record<string, unknown>
        if (!compiled.params.Check(converted)) {
          problem ??= `it matches '${compiled.template}', but ${issues(compiled.params as unknown as TypeCheck<TSchema>, converted, 'parameter ').replace(/parameter \//g, 'parameter ')}`
          continue
        }
        // One spelling per topic: the converted value must print back as the text it came from. Otherwise
        // 'task:007', 'task:1e3' or 'task:1.9' would be authorized as task 7, 1 or 1 while streaming a
        // different topic name than the one publishes to task 7 or task 1 use (found by an outside review).
        const loose = compiled.paramNames.find((name) => String(converted[name]) !== written[name])
        if (loose !== undefined) {
          problem ??= `it matches '${compiled.template}', but parameter ${loose} is '${printableTopic(written[loose])}', not written as '${printableTopic(String(converted[loose]))}' (a topic has one spelling, so subscriptions and publishes meet)`
          continue
        }
        params = converted
      }
      return { name: topic, template: compiled.template, params }
    }
    return { problem: problem ?? `not in the topic catalog (it declares ${this.keys.map((key) => `'${printableTopic(key)}'`).join(', ')})` }
  }

  /** The resolved topic, or throws FVIEWS_ERR_TOPIC_UNKNOWN naming it. */
  expect (topic: string): ResolvedTopic {
    const resolved = this.resolve(topic)
    if ('problem' in resolved) throw new FVIEWS_ERR_TOPIC_UNKNOWN(printableTopic(topic), resolved.problem)
    return resolved
  }

  /** The concrete name of a template: `topics.name('task:{id}', { id: 7 })` -> 'task:7' (checked). */
  name<T extends keyof Def & string> (template: T, ...params: TemplateParamNames<T> extends never ? [] : [TemplateParams<Def[T], T>]): TemplateName<T, TemplateParams<Def[T], T>> {
    const compiled = this.fixed.get(template) ?? this.templates.find((candidate) => candidate.template === template)
    if (compiled === undefined) throw new FVIEWS_ERR_TOPIC_UNKNOWN(printableTopic(template), 'not a template of the topic catalog')
    const values = (params[0] ?? {}) as Record<string, unknown>
    const name = template.replace(/\{([^{}]*)\}/g, (_, key: string) => String(values[key]))
    const resolved = this.expect(name)
    if (resolved.template !== template) throw new FVIEWS_ERR_TOPIC_UNKNOWN(printableTopic(name), `it was built from '${template}' but belongs to '${resolved.template}'`)
    return name as TemplateName<T, TemplateParams<Def[T], T>>
  }

  /**
   * The JSON of `data` as event `event` of every one of `topics`: validated against the event's schema
   * and serialised by it. Throws FVIEWS_ERR_TOPIC_UNKNOWN or FVIEWS_ERR_EVENT_INVALID.
   */
  encode (topics: readonly string[], event: string, data: unknown): string {
    let json: string | undefined
    let jsonTopic = ''
    let previous: EventCodec | undefined
    for (const topic of topics) {
      const { template } = this.expect(topic)
      const compiled = this.fixed.get(template) ?? this.templates.find((candidate) => candidate.template === template) as CompiledTopic
      const codec = compiled.events.get(event)
      if (codec === undefined) {
        throw new FVIEWS_ERR_EVENT_INVALID(`'${printableTopic(event)}' is not an event of topic '${printableTopic(topic)}' ('${printableTopic(template)}' carries ${[...compiled.events.keys()].join(', ')})`)
      }
      if (codec === previous) continue
      previous = codec
      if (!codec.check.Check(data)) throw new FVIEWS_ERR_EVENT_INVALID(`event '${printableTopic(event)}' of topic '${printableTopic(topic)}': ${issues(codec.check, data, 'data')}`)
      const text = codec.stringify(data)
      if (json !== undefined && text !== json) {
        throw new FVIEWS_ERR_EVENT_INVALID(`topics '${printableTopic(jsonTopic)}' and '${printableTopic(topic)}' declare event '${printableTopic(event)}' with different data schemas: publish to them separately`)
      }
      json = text
      jsonTopic = topic
    }
    return json ?? JSON.stringify(data ?? null)
  }

  /**
   * The catalog's verdict on one received copy of an event (a message another publisher wrote to the shared
   * backend): `{ json }` as the event's schema writes it (undeclared properties dropped; the same text when
   * nothing was), or `{ problem }` saying why the catalog refuses it. `data` is the parsed `json`.
   */
  screen (topic: string, event: string, data: unknown, json: string): { json: string } | { problem: string } {
    const resolved = this.resolve(topic)
    if ('problem' in resolved) return { problem: `topic '${printableTopic(topic)}' is ${resolved.problem}` }
    const compiled = this.fixed.get(resolved.template) ?? this.templates.find((candidate) => candidate.template === resolved.template) as CompiledTopic
    const codec = compiled.events.get(event)
    if (codec === undefined) return { problem: `'${printableTopic(event)}' is not an event of topic '${printableTopic(topic)}' ('${printableTopic(resolved.template)}' carries ${[...compiled.events.keys()].join(', ')})` }
    if (!codec.check.Check(data)) return { problem: `event '${printableTopic(event)}' of topic '${printableTopic(topic)}': ${issues(codec.check, data, 'data')}` }
    const text = codec.stringify(data)
    return { json: text === json ? json : text }
  }

  /**
   * Every event name of the catalog with the schema of its data, as the SSE event-schema builder takes it
   * (lib/views/event-schema.ts): a name declared by several topics with different schemas gets their union.
   */
  eventSchemas (): Record<string, TSchema> {
    const byName = new Map<string, TSchema[]>()
    const seen = new Map<string, Set<string>>()
    for (const declaration of Object.values(this.definition)) {
      for (const [name, schema] of Object.entries(declaration.events)) {
        const list = byName.get(name) ?? []
        const texts = seen.get(name) ?? new Set()
        // Two topics declaring the same data (equal schemas, not one object) document it once.
        const text = JSON.stringify(schema)
        if (!texts.has(text)) { list.push(schema); texts.add(text) }
        byName.set(name, list)
        seen.set(name, texts)
      }
    }
    const events: Record<string, TSchema> = {}
    for (const [name, schemas] of byName) events[name] = schemas.length === 1 ? schemas[0] : Type.Union(schemas)
    return events
  }

  /** A line per topic for a description: which events each carries. */
  describe (): string {
    return Object.entries(this.definition)
      .map(([template, declaration]) => `\`${template}\`: ${Object.keys(declaration.events).map((name) => `\`${name}\``).join(', ')}${declaration.description === undefined ? '' : ` - ${declaration.description}`}`)
      .join('; ')
  }
}

export type AnyTopicCatalog = TopicCatalog<any>

/**
 * Declares the topic catalog. `const` keeps each key's literal text, so `'task:{id}'` types the names
 * `task:${number}` and its events' data.
 */
export function defineTopics<const Def extends TopicsDefinition> (definition: Def): TopicCatalog<Def> {
  return new TopicCatalog(definition)
}

export function isTopicCatalog (value: unknown): value is AnyTopicCatalog {
  return value instanceof TopicCatalog
}
