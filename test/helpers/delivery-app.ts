/**
 * An app of the delivery tests, as users build it: the built-in subscription endpoint at /events and a
 * publishing endpoint; and the two ways a test publishes to it.
 */
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { createApp, publishEvent, SubscriptionView, ViewRouter, type CreateAppOptions, type SubscriptionViewOptions } from '../../lib/index.js'
import type { TestContext } from './context.js'
import { listen } from './http.js'
import type { Note } from './ledger.js'
import { dispatcher } from './stream-reader.js'

export interface Instance {
  app: FastifyInstance
  base: string
  /** Server-side sockets of subscription requests, by their `x-client` header. */
  sockets: Map<string, Socket>
}

export interface InstanceOptions {
  redisUrl?: string
  view?: SubscriptionViewOptions
  app?: Partial<CreateAppOptions>
}

/**
 * An app as users build it: createApp, SubscriptionView at /events (?topic=a,b), and
 * POST /publish/:topic, a handler wrapped in @publishEvent that publishes its body as event `note`.
 */
export async function startInstance (t: TestContext, options: InstanceOptions = {}): Promise<Instance> {
  const app = await createApp({
    env: {},
    fastify: { logger: false },
    drainMs: 0,
    historySize: 10_000,
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    ...options.app
  })
  t.teardown(() => app.close())
  const sockets = new Map<string, Socket>()
  app.addHook('onRequest', async (request) => {
    const name = request.headers['x-client']
    if (typeof name === 'string') sockets.set(name, request.raw.socket)
  })
  await app.register(new ViewRouter().registerView(SubscriptionView(options.view ?? {}), { prefix: '/events' }).plugin)
  app.post('/publish/:topic', publishEvent({ topic: ({ params }) => params.topic, event: 'note' })(async (request) => request.body))
  // A backlog for 1,000 connections arriving at once (Node's default, 511, drops SYNs: 1 s retries).
  return { app, base: await listen(app, { backlog: 2048 }), sockets }
}

/** Publishes through the app's broker, as a publishing instance's code does. */
export function viaBroker (instance: Instance) {
  return (topic: string, note: Note) => instance.app.broker.publish(topic, 'note', note)
}

/** Publishes through POST /publish/:topic (a handler wrapped in publishEvent). */
export function viaHttp (instance: Instance) {
  return async (topic: string, note: Note): Promise<undefined> => {
    const response = await request(`${instance.base}/publish/${encodeURIComponent(topic)}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(note), dispatcher
    })
    const text = await response.body.text()
    if (response.statusCode !== 200) throw new Error(`POST /publish/${topic}: ${response.statusCode} ${text}`)
    return undefined
  }
}

/** The subscription path for topics. */
export function eventsPath (topics: readonly string[], query = ''): string {
  return `/events?topic=${topics.map(encodeURIComponent).join(',')}${query}`
}
