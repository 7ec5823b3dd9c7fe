/** Real HTTP for tests: the app listens on an ephemeral loopback port and undici talks to it. */
import type { FastifyInstance } from 'fastify'
import { request as undiciRequest } from 'undici'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: () => any
}

/**
 * Listens on 127.0.0.1 and returns the base URL. `port` 0 (the default) takes a free one; a fixed port
 * restarts "the same" instance. `backlog`: for many connections arriving at once.
 */
export async function listen (app: FastifyInstance, options: { port?: number, backlog?: number } = {}): Promise<string> {
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1', ...(options.backlog === undefined ? {} : { backlog: options.backlog }) })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return `http://127.0.0.1:${address.port}`
}

export async function http (base: string, method: string, path: string, options: { body?: unknown, raw?: string, headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  let body: string | undefined
  if (options.raw !== undefined) body = options.raw
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers['content-type'] ??= 'application/json'
  }
  const response = await undiciRequest(`${base}${path}`, { method: method as any, headers, body })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) }
}
