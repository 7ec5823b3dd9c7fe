/** An example app started in the test's own process on a (given or free) loopback port, and real EventSource clients of it. */
import type { FastifyInstance } from 'fastify'
import type { TestContext } from './context.js'
import { listen } from './http.js'
import { SSEClient, type ReceivedEvent, type SSEClientOptions } from './sse-client.js'
import { within } from './wait.js'

export interface Running { app: FastifyInstance, base: string, port: number }

/** Builds and listens on 127.0.0.1 (port 0: a free one; a fixed port to restart "the same" instance). */
export async function start<O> (build: (options: O) => Promise<FastifyInstance>, options: O, port = 0): Promise<Running> {
  const app = await build(options)
  const base = await listen(app, { port })
  return { app, base, port: Number(new URL(base).port) }
}

/** `[type, data]` of events, data parsed: what a test compares. */
export const summary = (events: ReceivedEvent[]): Array<[string, unknown]> => events.map((event) => [event.type, JSON.parse(event.data)])

/** The first `count` events of a client, within `ms`, as `[type, data]`. */
export async function firstEvents (client: SSEClient, count: number, ms = 10_000): Promise<Array<[string, unknown]>> {
  return summary(await within(client.waitFor(count), ms, `${count} events (got ${JSON.stringify(summary(client.events))})`))
}

/** A real EventSource client closed in teardown. */
export function sseClient (t: TestContext, url: string, options: SSEClientOptions): SSEClient {
  const sse = new SSEClient(url, options)
  t.teardown(() => sse.close())
  return sse
}
