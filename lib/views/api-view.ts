/**
 * `APIView(definition)`: a view whose methods named after HTTP verbs become routes at its prefix.
 *
 *   class Hello extends APIView({
 *     querystring: Type.Object({ name: Type.String() }),
 *     get: { response: { 200: Type.Object({ message: Type.String() }) } }
 *   }) {
 *     async get () { return { message: `hello ${this.query.name}` } }
 *   }
 *
 * The definition is written once; `this.params`, `this.query`, `this.headers`, `this.body` and each
 * verb's return type are inferred from it, so a wrong return shape is a compile error.
 */
import type { TObject } from '@sinclair/typebox'
import { FVIEWS_ERR_VIEW_ABSTRACT } from '../errors.js'
import type { RouteSpec } from './route-spec.js'
import type { MaybePromise, Member, OperationSchema, SharedSchema, StaticOf, SuccessBody, Verb } from './types.js'
import { VERBS } from './types.js'
import { defaultStatus, sendResult } from './respond.js'
import { collectActions } from './route-tags.js'
import { View } from './view.js'

export interface APIViewDefinition extends SharedSchema {
  get?: OperationSchema
  post?: OperationSchema
  put?: OperationSchema
  patch?: OperationSchema
  delete?: OperationSchema
}

export type VerbReturn<D, V extends Verb> = SuccessBody<Member<Member<D, V>, 'response'>>
export type RequestBodyOf<D> = { [V in Verb]: StaticOf<Member<Member<D, V>, 'body'>, never> }[Verb] extends infer B
  ? [B] extends [never] ? unknown : B
  : never
export type QueryOf<D> = StaticOf<Member<D, 'querystring'>, Record<string, unknown>>

/** Members every view instance gets from its definition. */
export interface TypedView<D extends SharedSchema> extends View {
  params: StaticOf<Member<D, 'params'>, Record<string, string>>
  query: QueryOf<D> & ({ [V in Verb]: StaticOf<Member<Member<D, V>, 'querystring'>, never> }[Verb] extends infer Q ? [Q] extends [never] ? unknown : Q : never)
  headers: StaticOf<Member<D, 'headers'>, Record<string, string | string[] | undefined>>
  body: RequestBodyOf<D>
}

export interface APIViewInstance<D extends APIViewDefinition> extends TypedView<D> {
  get? (): MaybePromise<VerbReturn<D, 'get'>>
  post? (): MaybePromise<VerbReturn<D, 'post'>>
  put? (): MaybePromise<VerbReturn<D, 'put'>>
  patch? (): MaybePromise<VerbReturn<D, 'patch'>>
  delete? (): MaybePromise<VerbReturn<D, 'delete'>>
}

export interface DefinedViewClass<D, I> {
  new (): I
  readonly definition: D
  collectRoutes (): RouteSpec[]
  detailPath: string
}

/** Merges the route-level schema of a view into one operation's schema. */
export function operationSchema (shared: SharedSchema, operation: OperationSchema | undefined): OperationSchema & { params?: TObject } {
  const merged: OperationSchema & { params?: TObject } = { ...operation }
  if (shared.params !== undefined) merged.params = shared.params
  if (merged.querystring === undefined && shared.querystring !== undefined) merged.querystring = shared.querystring
  if (merged.headers === undefined && shared.headers !== undefined) merged.headers = shared.headers
  if (shared.tags !== undefined) merged.tags = [...shared.tags, ...(operation?.tags ?? [])]
  return merged
}

export class APIViewBase extends View {
  static override definition: APIViewDefinition = {}

  static override collectRoutes (): RouteSpec[] {
    const definition = this.definition
    const specs: RouteSpec[] = []
    for (const verb of VERBS) {
      const implemented = typeof (this.prototype as any)[verb] === 'function'
      if (!implemented) {
        if (definition[verb] !== undefined) throw new FVIEWS_ERR_VIEW_ABSTRACT(this.name, verb)
        continue
      }
      const schema = operationSchema(definition, definition[verb])
      const status = defaultStatus(schema)
      specs.push({
        name: verb,
        method: verb.toUpperCase() as RouteSpec['method'],
        path: '',
        schema,
        invoke: async (view, _request, reply) => sendResult(reply, await (view as any)[verb](), status)
      })
    }
    return [...specs, ...collectActions(this)]
  }
}

export function APIView<const D extends APIViewDefinition> (definition: D): DefinedViewClass<D, APIViewInstance<D>> {
  return class extends APIViewBase {
    static override definition: APIViewDefinition = definition
  } as unknown as DefinedViewClass<D, APIViewInstance<D>>
}
