/**
 * Generic views and viewsets, as in Django REST framework and fastapi-views: the implementer writes the
 * data access (`list()`, `retrieve(id)`, `create(body)`, ...), the view owns the HTTP semantics:
 *
 *   list           GET    <prefix>        200, array
 *   create         POST   <prefix>        201 (+ Location when the view has retrieve)
 *   retrieve       GET    <prefix>/:id    200, or a 404 problem when the lookup finds nothing
 *   update         PUT    <prefix>/:id    200 (404 likewise)
 *   partialUpdate  PATCH  <prefix>/:id    200 (404 likewise)
 *   destroy        DELETE <prefix>/:id    204, empty body (404 when it returns false or null)
 */
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox'
import type { FastifyRequest, HTTPMethods } from 'fastify'
import { FVIEWS_ERR_VIEW_ABSTRACT, FVIEWS_ERR_VIEW_INVALID } from '../errors.js'
import { NotFoundError } from '../http-errors.js'
import { collectActions } from './route-tags.js'
import type { DefinedViewClass, TypedView } from './api-view.js'
import type { RouteSpec } from './route-spec.js'
import type { MaybePromise, OperationDocs, OperationSchema, SharedSchema, StaticOf } from './types.js'
import { sendResult } from './respond.js'
import { View } from './view.js'

export type GenericOperation = 'list' | 'create' | 'retrieve' | 'update' | 'partialUpdate' | 'destroy'

export interface GenericDefinition extends SharedSchema {
  /** Schema of one item, as answered by list, retrieve, create and update. */
  model: TObject
  /** Body of create; defaults to `model`. */
  create?: TSchema
  /** Body of update (PUT); defaults to `create`. */
  update?: TSchema
  /** Body of partialUpdate (PATCH); defaults to `Type.Partial(update)`. */
  partialUpdate?: TSchema
  /** Schema of the `:id` path parameter; defaults to `Type.String()`. */
  id?: TSchema
  /** Query parameters of list (filters, paging). */
  listQuery?: TObject
  /** Per-operation OpenAPI metadata. */
  docs?: Partial<Record<GenericOperation, OperationDocs>>
}

export type ModelOf<D extends GenericDefinition> = Static<D['model']>
export type IdOf<D extends GenericDefinition> = D['id'] extends TSchema ? Static<D['id']> : string
export type CreateOf<D extends GenericDefinition> = D['create'] extends TSchema ? Static<D['create']> : ModelOf<D>
export type UpdateOf<D extends GenericDefinition> = D['update'] extends TSchema ? Static<D['update']> : CreateOf<D>
export type PartialOf<D extends GenericDefinition> = D['partialUpdate'] extends TSchema ? Static<D['partialUpdate']> : Partial<UpdateOf<D>>
export type Found<T> = MaybePromise<T | null | undefined>

export interface GenericViewInstance<D extends GenericDefinition> extends Omit<TypedView<D>, 'body' | 'params'> {
  body: unknown
  /** The URL's parameters; `id` is set on detail routes (retrieve, update, destroy, detail actions). */
  params: StaticOf<D['params'], {}> & { id: IdOf<D> }
  list? (): MaybePromise<Array<ModelOf<D>>>
  create? (body: CreateOf<D>): MaybePromise<ModelOf<D>>
  retrieve? (id: IdOf<D>): Found<ModelOf<D>>
  update? (id: IdOf<D>, body: UpdateOf<D>): Found<ModelOf<D>>
  partialUpdate? (id: IdOf<D>, body: PartialOf<D>): Found<ModelOf<D>>
  /** true, nothing, or the deleted item: 204; false or null: 404. */
  destroy? (id: IdOf<D>): MaybePromise<boolean | void | null | ModelOf<D>>
}

interface OperationRoute { method: HTTPMethods, detail: boolean }
const OPERATIONS: Record<GenericOperation, OperationRoute> = {
  list: { method: 'GET', detail: false },
  create: { method: 'POST', detail: false },
  retrieve: { method: 'GET', detail: true },
  update: { method: 'PUT', detail: true },
  partialUpdate: { method: 'PATCH', detail: true },
  destroy: { method: 'DELETE', detail: true }
}
const ORDER = Object.keys(OPERATIONS) as GenericOperation[]

function itemName (model: TSchema): string {
  return (model.title as string | undefined) ?? (model.$id as string | undefined) ?? 'Item'
}

function detailParams (definition: GenericDefinition): TObject {
  return Type.Object({ ...(definition.params?.properties ?? {}), id: definition.id ?? Type.String() })
}

function collectionPath (request: FastifyRequest): string {
  return request.url.split('?')[0].replace(/\/+$/, '')
}

export class GenericViewBase extends View {
  static override definition: GenericDefinition
  /** Operations the class must implement, and those it may. */
  static requiredOperations: GenericOperation[] = []
  static optionalOperations: GenericOperation[] = []

  static override detailParams (): TObject {
    return detailParams(this.definition)
  }

  static override collectRoutes (): RouteSpec[] {
    const definition = this.definition
    if (definition?.model === undefined) throw new FVIEWS_ERR_VIEW_INVALID(this.name, "its definition has no 'model' schema")
    const mounted: GenericOperation[] = []
    for (const operation of ORDER) {
      const implemented = typeof (this.prototype as any)[operation] === 'function'
      if (this.requiredOperations.includes(operation) && !implemented) throw new FVIEWS_ERR_VIEW_ABSTRACT(this.name, `${operation}()`)
      if (!implemented || !(this.requiredOperations.includes(operation) || this.optionalOperations.includes(operation))) continue
      mounted.push(operation)
    }
    // A Location header must name a URL that answers: only a view with a retrieve route has one.
    const hasDetailRoute = mounted.includes('retrieve')
    const specs = mounted.map((operation) => genericRoute(this.name, definition, operation, this.detailPath, hasDetailRoute))
    return [...specs, ...collectActions(this)]
  }
}

function genericRoute (viewName: string, definition: GenericDefinition, operation: GenericOperation, detailPath: string, hasDetailRoute: boolean): RouteSpec {
  const { method, detail } = OPERATIONS[operation]
  const model = definition.model
  const name = itemName(model)
  const createBody = definition.create ?? model
  const updateBody = definition.update ?? createBody
  const schema: OperationSchema & { params?: TObject } = { ...definition.docs?.[operation] }
  if (definition.tags !== undefined) schema.tags = [...definition.tags, ...(schema.tags ?? [])]
  if (definition.headers !== undefined) schema.headers = definition.headers
  if (detail) schema.params = detailParams(definition)
  else if (definition.params !== undefined) schema.params = definition.params

  const notFound = (id: unknown) => new NotFoundError(`${name} '${String(id)}' not found`)
  let invoke: RouteSpec['invoke']
  switch (operation) {
    case 'list':
      if (definition.listQuery !== undefined) schema.querystring = definition.listQuery
      else if (definition.querystring !== undefined) schema.querystring = definition.querystring
      schema.response = { 200: Type.Array(model, { description: `The ${name} items` }) }
      schema.summary ??= `List ${name} items`
      invoke = async (view, _request, reply) => sendResult(reply, await (view as any).list(), 200)
      break
    case 'create':
      schema.body = createBody
      schema.response = { 201: model }
      schema.summary ??= `Create a ${name}`
      invoke = async (view, request, reply) => {
        const created = await (view as any).create(request.body)
        const id = created?.id
        if (hasDetailRoute && id !== undefined && !reply.hasHeader('location')) reply.header('location', `${collectionPath(request)}/${encodeURIComponent(String(id))}`)
        return sendResult(reply, created, 201)
      }
      break
    case 'retrieve':
      schema.response = { 200: model }
      schema.summary ??= `Retrieve a ${name}`
      invoke = async (view, request, reply) => {
        const id = (request.params as { id: unknown }).id
        const found = await (view as any).retrieve(id)
        if (found === null || found === undefined) throw notFound(id)
        return sendResult(reply, found, 200)
      }
      break
    case 'update':
    case 'partialUpdate': {
      schema.body = operation === 'update'
        ? updateBody
        : definition.partialUpdate ?? (updateBody.type === 'object' ? Type.Partial(updateBody as TObject) : updateBody)
      schema.response = { 200: model }
      schema.summary ??= operation === 'update' ? `Replace a ${name}` : `Update part of a ${name}`
      invoke = async (view, request, reply) => {
        const id = (request.params as { id: unknown }).id
        const updated = await (view as any)[operation](id, request.body)
        if (updated === null || updated === undefined) throw notFound(id)
        return sendResult(reply, updated, 200)
      }
      break
    }
    case 'destroy':
      schema.response = { 204: Type.Null({ description: 'Deleted' }) }
      schema.summary ??= `Delete a ${name}`
      invoke = async (view, request, reply) => {
        const id = (request.params as { id: unknown }).id
        const outcome = await (view as any).destroy(id)
        if (outcome === false || outcome === null) throw notFound(id)
        return sendResult(reply.code(204), undefined, 204)
      }
      break
  }
  return { name: operation, method, path: detail ? detailPath : '', schema, invoke, detail }
}

export type GenericClass<D extends GenericDefinition> = DefinedViewClass<D, GenericViewInstance<D>>

/**
 * A ModelViewSet's instance: the six operations are abstract, so a class that leaves one out does not
 * compile ("Non-abstract class 'Tasks' does not implement inherited abstract member 'destroy'") instead
 * of failing at registerView. A declaration only: at run time the factory's class is a GenericViewBase.
 */
export interface ModelViewSetInstance<D extends GenericDefinition> extends Omit<GenericViewInstance<D>, GenericOperation> {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the interface adds the view members to the abstract operations
export declare abstract class ModelViewSetInstance<D extends GenericDefinition> {
  abstract list (): MaybePromise<Array<ModelOf<D>>>
  abstract create (body: CreateOf<D>): MaybePromise<ModelOf<D>>
  abstract retrieve (id: IdOf<D>): Found<ModelOf<D>>
  abstract update (id: IdOf<D>, body: UpdateOf<D>): Found<ModelOf<D>>
  abstract partialUpdate (id: IdOf<D>, body: PartialOf<D>): Found<ModelOf<D>>
  /** true, nothing, or the deleted item: 204; false or null: 404. */
  abstract destroy (id: IdOf<D>): MaybePromise<boolean | void | null | ModelOf<D>>
}

/** A view class whose instance has abstract members: a subclass must implement them. */
export type AbstractViewClass<D, I> = (abstract new () => I) & Omit<DefinedViewClass<D, I>, never>

function genericFactory (label: string, required: GenericOperation[], optional: GenericOperation[] = []) {
  const factory = <const D extends GenericDefinition>(definition: D): GenericClass<D> => {
    return class extends GenericViewBase {
      static override definition: GenericDefinition = definition
      static override requiredOperations = required
      static override optionalOperations = optional
    } as unknown as GenericClass<D>
  }
  Object.defineProperty(factory, 'name', { value: label })
  return factory
}

export const ListView = genericFactory('ListView', ['list'])
export const CreateView = genericFactory('CreateView', ['create'])
export const RetrieveView = genericFactory('RetrieveView', ['retrieve'])
export const UpdateView = genericFactory('UpdateView', ['update'], ['partialUpdate'])
export const DestroyView = genericFactory('DestroyView', ['destroy'])
export const ListCreateView = genericFactory('ListCreateView', ['list', 'create'])
export const RetrieveUpdateView = genericFactory('RetrieveUpdateView', ['retrieve', 'update'], ['partialUpdate'])
export const RetrieveDestroyView = genericFactory('RetrieveDestroyView', ['retrieve', 'destroy'])
export const RetrieveUpdateDestroyView = genericFactory('RetrieveUpdateDestroyView', ['retrieve', 'update', 'destroy'], ['partialUpdate'])
/** list + retrieve. */
export const ReadOnlyViewSet = genericFactory('ReadOnlyViewSet', ['list', 'retrieve'])
/** Every operation the class implements, none required (DRF's ViewSet). */
export const ViewSet = genericFactory('ViewSet', [], ORDER)
/** All six operations, each required (DRF's ModelViewSet): leaving one out is a compile error. */
export const ModelViewSet: <const D extends GenericDefinition>(definition: D) => AbstractViewClass<D, ModelViewSetInstance<D>> =
  genericFactory('ModelViewSet', ORDER) as any
