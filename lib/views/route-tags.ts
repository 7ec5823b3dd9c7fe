/**
 * Route tags: what a decorator leaves on a method, and how a view class collects them into RouteSpecs.
 * Below view.ts and actions.ts, so the View base class can collect its actions (`collectRoutes`) without
 * importing the decorators that need the View type (no import loop, type-only imports included).
 */
import type { TObject } from '@sinclair/typebox'
import { kRouteTag } from '../symbols.js'
import type { RouteSpec } from './route-spec.js'


/** What a decorator leaves on a method: enough to build the route once the class is known. */
export interface RouteTag {
  build (name: string, viewClass: ViewClassShape): RouteSpec
}

/** What a tag needs to know of the class it is collected from. */
export interface ViewClassShape { detailPath: string, name: string, detailParams (): TObject | undefined }

export function tagMethod (method: Function, tag: RouteTag): void {
  Object.defineProperty(method, kRouteTag, { value: tag, configurable: true })
}

export function routeTagOf (method: unknown): RouteTag | undefined {
  return typeof method === 'function' ? (method as { [kRouteTag]?: RouteTag })[kRouteTag] : undefined
}

/** Keeps the route tag when a decorator replaces a method by a wrapper. */
export function copyRouteTag (from: Function, to: Function): void {
  const tag = routeTagOf(from)
  if (tag !== undefined) tagMethod(to, tag)
}

export function joinPath (...parts: string[]): string {
  const joined = parts.filter((part) => part !== '' && part !== '/').map((part) => part.startsWith('/') ? part : `/${part}`).join('')
  return joined.replace(/\/+$/, '')
}

/** Every tagged method along the prototype chain, nearest first, one spec per name. */
export function collectActions (viewClass: ViewClassShape & { prototype: object }): RouteSpec[] {
  const specs: RouteSpec[] = []
  const seen = new Set<string>()
  for (let proto = viewClass.prototype; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || seen.has(name)) continue
      seen.add(name)
      const descriptor = Object.getOwnPropertyDescriptor(proto, name)
      const tag = routeTagOf(descriptor?.value)
      if (tag !== undefined) specs.push(tag.build(name, viewClass))
    }
  }
  return specs
}
