/**
 * The client's errors. Apart from the server's table (lib/errors.ts builds on @fastify/error, which a
 * browser bundle must not carry); the codes follow its `FVIEWS_ERR_<AREA>_<REASON>` form and are listed in
 * docs/client.md.
 */
import type { ProblemDocument } from './types.js'

/** Every code of the client's errors (the errors test checks each is documented in docs/client.md). */
export const CLIENT_ERROR_CODES = [
  // The server refused the stream with a status that retrying cannot change (400, 401, 403, 404, ...).
  'FVIEWS_ERR_CLIENT_REFUSED',
  // A 2xx answer that is not `text/event-stream` (a wrong URL answered by a page or a JSON route).
  'FVIEWS_ERR_CLIENT_NOT_EVENT_STREAM',
  // The server failed mid-stream and said so with an `event: error` frame; the client reconnects.
  'FVIEWS_ERR_CLIENT_STREAM_FAILED',
  // A line longer than the client's `maxLineLength`: the connection is dropped and retried.
  'FVIEWS_ERR_CLIENT_LINE_TOO_LONG'
] as const

export type ClientErrorCode = typeof CLIENT_ERROR_CODES[number]

export class EventStreamError extends Error {
  readonly code: ClientErrorCode
  /** The HTTP status, when an answer had one. */
  readonly status: number | undefined
  /** The server's problem document (RFC 9457), when it sent one. */
  readonly problem: ProblemDocument | undefined
  /** True when the client stopped because of it (no reconnect follows). */
  readonly final: boolean

  constructor (code: ClientErrorCode, message: string, fields: { status?: number, problem?: ProblemDocument, final: boolean }) {
    super(message)
    this.name = 'EventStreamError'
    this.code = code
    this.status = fields.status
    this.problem = fields.problem
    this.final = fields.final
  }
}
