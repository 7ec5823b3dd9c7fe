/** Shared by the example tests: start an example on a (given or free) loopback port, and bounded waits. */
import type { FastifyInstance } from 'fastify'
import type { ReceivedEvent, SSEClient } from '../helpers/sse-client.js'

export interface Running { app: FastifyInstance, base: string, port: number }

/** Builds and listens on 127.0.0.1 (port 0: a free one; a fixed port to restart "the same" instance). */
export async function start<O> (build: (options: O) => Promise<FastifyInstance>, options: O, port = 0): Promise<Running> {
  const app = await build(options)
  await app.listen({ host: '127.0.0.1', port })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { app, base: `http://127.0.0.1:${address.port}`, port: address.port }
}

/** Rejects with `what` when `promise` takes longer than `ms`: a failing test names what it waited for. */
export function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** `[type, data]` of events, data parsed: what a test compares. */
export const summary = (events: ReceivedEvent[]): Array<[string, unknown]> => events.map((event) => [event.type, JSON.parse(event.data)])

/** The first `count` events of a client, within `ms`, as `[type, data]`. */
export async function firstEvents (client: SSEClient, count: number, ms = 10_000): Promise<Array<[string, unknown]>> {
  return summary(await within(client.waitFor(count), ms, `${count} events (got ${JSON.stringify(summary(client.events))})`))
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
