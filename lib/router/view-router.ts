/**
 * ViewRouter: collects view classes and mounts their routes as an ordinary, encapsulated Fastify plugin.
 *
 *   const router = new ViewRouter()
 *   router.registerView(Tasks, { prefix: '/tasks' })
 *   await app.register(router.plugin, { prefix: '/api' })
 *
 * Everything that can be wrong with a view is found at registerView(), before the app starts.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HTTPMethods, RouteShorthandOptions } from 'fastify'
import { FVIEWS_ERR_ROUTE_CLASH, FVIEWS_ERR_ROUTER_SEALED, FVIEWS_ERR_VIEW_INVALID, FVIEWS_ERR_VIEW_NO_ROUTES } from '../errors.js'
import { joinPath } from '../views/route-tags.js'
import type { RouteSpec } from '../views/route-spec.js'
import { bindView, isViewClass, type View, type ViewClass } from '../views/view.js'
import { buildRouteSchema } from './schemas.js'
import { ProblemDetails, ValidationIssue } from '../problem.js'

export interface ViewRouterOptions {
  /** Prefix of every view of this router, below the prefix the plugin is registered with. */
  prefix?: string
  /** OpenAPI tags added to every operation of this router. */
  tags?: string[]
}

export interface RegisterViewOptions {
  prefix?: string
  tags?: string[]
  /** Name used in operationIds and errors; defaults to the class name. */
  name?: string
  /** Fastify route options applied to every route of the view (hooks, config, constraints...). */
  routeOptions?: Omit<RouteShorthandOptions, 'schema' | 'handler'>
}

/** A route as mounted, kept for introspection (tools can find the view class behind a route). */
export interface MountedRoute {
  method: HTTPMethods | HTTPMethods[]
  url: string
  view: ViewClass
  viewName: string
  operation: string
  spec: RouteSpec
}

interface Registration { view: ViewClass, options: RegisterViewOptions, name: string, specs: RouteSpec[] }

/** The route config key under which every mounted route keeps a reference to its view class. */
export const VIEW_ROUTE_CONFIG = 'fastifyViews'

export class ViewRouter {
  readonly prefix: string
  readonly tags: string[]
  private readonly registrations: Registration[] = []
  private readonly claimed = new Map<string, string>()
  /** Set once the plugin has mounted the views: a view registered later would never be served. */
  private mounted = false

  constructor (options: ViewRouterOptions = {}) {
    this.prefix = options.prefix ?? ''
    this.tags = options.tags ?? []
  }

  registerView (view: unknown, options: RegisterViewOptions = {}): this {
    const name = options.name ?? (typeof view === 'function' && view.name !== '' ? view.name : 'anonymous view')
    if (this.mounted) throw new FVIEWS_ERR_ROUTER_SEALED(name)
    if (!isViewClass(view)) {
      throw new FVIEWS_ERR_VIEW_INVALID(name, 'it is not a view class: extend APIView(...), a generic view such as ModelViewSet(...), or ServerSideEventsView(...)')
    }
    const viewClass = view as unknown as ViewClass
    const specs = viewClass.collectRoutes()
    if (specs.length === 0) throw new FVIEWS_ERR_VIEW_NO_ROUTES(name)
    for (const spec of specs) {
      const url = this.urlOf(options, spec)
      for (const method of [spec.method].flat()) {
        const key = `${method} ${url === '' ? '/' : url}`
        const owner = this.claimed.get(key)
        if (owner !== undefined) throw new FVIEWS_ERR_ROUTE_CLASH(name, key, owner)
        this.claimed.set(key, `${name}.${spec.name}`)
      }
    }
    this.registrations.push({ view: viewClass, options, name, specs })
    return this
  }

  /** Every route this router mounts, with the view class behind it. */
  routes (): MountedRoute[] {
    return this.registrations.flatMap(({ view, options, name, specs }) => specs.map((spec) => ({
      method: spec.method, url: this.urlOf(options, spec) || '/', view, viewName: name, operation: spec.name, spec
    })))
  }

  /** The Fastify plugin: `app.register(router.plugin, { prefix })`. Encapsulated, like any plugin. */
  readonly plugin: FastifyPluginAsync = async (instance) => {
    // Error responses reference the problem schema: make it known even without configureApp().
    for (const schema of [ValidationIssue, ProblemDetails]) if (instance.getSchema(schema.$id as string) === undefined) instance.addSchema(schema)
    this.mounted = true
    for (const registration of this.registrations) this.mount(instance, registration)
    const checked = this.routes().filter(({ spec }) => spec.checkAtStartup !== undefined)
    if (checked.length > 0) {
      // At onReady, not now: what a route needs (a broker) may be decorated after the router is registered.
      instance.addHook('onReady', async function checkViewRequirements () {
        for (const route of checked) route.spec.checkAtStartup!(instance, `${String(route.method)} ${instance.prefix}${route.url} of view ${route.viewName}`)
      })
    }
  }

  private urlOf (options: RegisterViewOptions, spec: RouteSpec): string {
    return joinPath(this.prefix, options.prefix ?? '', spec.path)
  }

  private mount (instance: FastifyInstance, { view, options, name, specs }: Registration): void {
    const tags = [...this.tags, ...(options.tags ?? [])]
    for (const spec of specs) {
      const url = this.urlOf(options, spec) || '/'
      const schema = buildRouteSchema(spec, { instance, viewName: name, tags })
      const routeOptions = { ...spec.mountOptions?.(instance), ...options.routeOptions, ...spec.routeOptions }
      instance.route({
        ...routeOptions,
        method: spec.method,
        url,
        schema,
        // Both configs: the registration's (the user's) and the spec's (a subscription's topic marker).
        config: { ...(options.routeOptions?.config as object | undefined), ...(spec.routeOptions?.config as object | undefined), [VIEW_ROUTE_CONFIG]: { view, name, operation: spec.name } } as any,
        handler: function viewHandler (request: FastifyRequest, reply: FastifyReply) {
          const instanceOfView = new view() as View
          bindView(instanceOfView, request, reply)
          return spec.invoke(instanceOfView, request, reply)
        }
      })
    }
  }
}
