/**
 * Errors a handler throws to answer with an RFC 9457 problem document
 * (https://www.rfc-editor.org/rfc/rfc9457). `configureApp` turns each into `application/problem+json`.
 */
import { STATUS_CODES } from 'node:http'

export interface HttpErrorOptions {
  /** A URI naming the problem type; defaults to `about:blank` (RFC 9457 §4.2.1). */
  type?: string
  title?: string
  /** Stable machine-readable code, sent as the `code` member. */
  code?: string
  /** Extra members of the problem document (RFC 9457 §3.2). */
  extensions?: Record<string, unknown>
  /** Response headers, e.g. `Retry-After`, `WWW-Authenticate`, `Allow`. */
  headers?: Record<string, string>
  cause?: unknown
}

export class HttpError extends Error {
  readonly statusCode: number
  readonly type: string
  readonly title: string
  readonly detail: string
  readonly code: string
  readonly extensions: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor (statusCode: number, detail?: string, options: HttpErrorOptions = {}) {
    const title = options.title ?? STATUS_CODES[statusCode] ?? 'Error'
    super(detail ?? title, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.type = options.type ?? 'about:blank'
    this.title = title
    this.detail = detail ?? title
    this.code = options.code ?? `FVIEWS_HTTP_${title.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`
    this.extensions = options.extensions ?? {}
    this.headers = options.headers ?? {}
  }
}

function httpErrorClass (statusCode: number, name: string) {
  const Class = class extends HttpError {
    constructor (detail?: string, options?: HttpErrorOptions) {
      super(statusCode, detail, options)
      this.name = name
    }
  }
  Object.defineProperty(Class, 'name', { value: name })
  return Class
}

export const BadRequestError = httpErrorClass(400, 'BadRequestError')
export const UnauthorizedError = httpErrorClass(401, 'UnauthorizedError')
export const ForbiddenError = httpErrorClass(403, 'ForbiddenError')
export const NotFoundError = httpErrorClass(404, 'NotFoundError')
export const MethodNotAllowedError = httpErrorClass(405, 'MethodNotAllowedError')
export const NotAcceptableError = httpErrorClass(406, 'NotAcceptableError')
export const ConflictError = httpErrorClass(409, 'ConflictError')
export const GoneError = httpErrorClass(410, 'GoneError')
export const PreconditionFailedError = httpErrorClass(412, 'PreconditionFailedError')
export const PayloadTooLargeError = httpErrorClass(413, 'PayloadTooLargeError')
export const UnsupportedMediaTypeError = httpErrorClass(415, 'UnsupportedMediaTypeError')
export const UnprocessableEntityError = httpErrorClass(422, 'UnprocessableEntityError')
export const TooManyRequestsError = httpErrorClass(429, 'TooManyRequestsError')
export const InternalServerError = httpErrorClass(500, 'InternalServerError')
export const NotImplementedError = httpErrorClass(501, 'NotImplementedError')
export const ServiceUnavailableError = httpErrorClass(503, 'ServiceUnavailableError')
