/**
 * Type-level plumbing: one TypeBox definition is at once the OpenAPI schema, the validator's input and
 * the source of handler types (the TypeBox `Static` pattern). Nothing here exists at run time.
 */
import type { Static, TNull, TObject, TSchema } from '@sinclair/typebox'

export type MaybePromise<T> = T | Promise<T>

/** OpenAPI metadata of one operation. */
export interface OperationDocs {
  summary?: string
  description?: string
  tags?: string[]
  operationId?: string
  deprecated?: boolean
  /** Leave the operation out of the OpenAPI document. */
  hide?: boolean
  /** Error statuses this operation documents as problem documents, beyond those the framework adds. */
  errors?: number[]
  /** Security requirements of this operation (`[]` for none), overriding the document's. */
  security?: Array<Record<string, string[]>>
}

/** Response schemas by status code. `Type.Null()` documents an empty body (204). */
export type ResponseMap = { [status: number]: TSchema }

/** The schema of one operation (one HTTP method at one path). */
export interface OperationSchema extends OperationDocs {
  querystring?: TObject
  headers?: TObject
  body?: TSchema
  response?: ResponseMap
  /** Status of a successful answer when the handler sets none; default: the lowest 2xx in `response`, else 200. */
  status?: number
}

/** Route-level schemas shared by every operation of a view: they describe the URL, not the method. */
export interface SharedSchema {
  params?: TObject
  querystring?: TObject
  headers?: TObject
  tags?: string[]
}

export type StaticOf<S, Fallback = unknown> = S extends TSchema ? Static<S> : Fallback

/** What a handler returns for a response schema: an empty (`Type.Null()`) body may also be nothing at all. */
export type ResponseBodyOf<S> = S extends TNull ? null | void : StaticOf<S>

/** Union of the bodies of the 2xx responses of a response map (unknown when none is declared). */
export type SuccessBody<R> = R extends ResponseMap
  ? ({ [K in keyof R]: `${K & (number | string)}` extends `2${string}` ? ResponseBodyOf<R[K]> : never }[keyof R]) extends infer U
    ? [U] extends [never] ? unknown : U
    : never
  : unknown

export type Member<T, K extends string> = T extends { [P in K]: infer V } ? V : undefined

/** What an action or extra route reads from the request, typed from its schema. */
export interface RouteContext<S extends OperationSchema & { params?: TObject } = OperationSchema> {
  params: StaticOf<Member<S, 'params'>, Record<string, string>>
  query: StaticOf<Member<S, 'querystring'>, Record<string, unknown>>
  headers: StaticOf<Member<S, 'headers'>, Record<string, string | string[] | undefined>>
  body: StaticOf<Member<S, 'body'>, unknown>
}

export type Verb = 'get' | 'post' | 'put' | 'patch' | 'delete'
export const VERBS: readonly Verb[] = ['get', 'post', 'put', 'patch', 'delete']
