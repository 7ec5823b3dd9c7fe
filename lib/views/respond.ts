/**
 * HTTP semantics of a JSON handler's return value, shared by every non-streaming route.
 */
import type { FastifyReply } from 'fastify'
import type { OperationSchema } from './types.js'

/** The status a successful answer gets when the handler sets none: `status`, else the lowest 2xx declared. */
export function defaultStatus (schema: OperationSchema, fallback = 200): number {
  if (schema.status !== undefined) return schema.status
  const success = Object.keys(schema.response ?? {}).map(Number).filter((code) => code >= 200 && code < 300)
  return success.length > 0 ? Math.min(...success) : fallback
}

/**
 * Sends `result` unless the handler already answered. A handler that changed the status keeps it;
 * `undefined` becomes an empty body (a 204 sends no content at all).
 */
export function sendResult (reply: FastifyReply, result: unknown, status: number): unknown {
  if (reply.sent) return reply
  if (reply.statusCode === 200 && status !== 200) reply.code(status)
  if (result === undefined || reply.statusCode === 204) return reply.send()
  return reply.send(result)
}
