/**
 * RFC 9457 Problem Details: the one shape every error leaves in (https://www.rfc-editor.org/rfc/rfc9457).
 */
import { STATUS_CODES } from 'node:http'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyError, FastifyRequest } from 'fastify'
import * as errors from './errors.js'
import { FVIEWS_ERR_BROKER_CLOSED, FVIEWS_ERR_BROKER_UNAVAILABLE, FVIEWS_ERR_INTERNAL, FVIEWS_ERR_STREAM_SLOW } from './errors.js'
import { HttpError } from './http-errors.js'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export const ValidationIssue = Type.Object({
  path: Type.String({ description: 'JSON Pointer to the failing value, starting with its part: /body/title, /querystring/limit' }),
  message: Type.String(),
  keyword: Type.Optional(Type.String())
}, { $id: 'ValidationIssue', additionalProperties: false })

export const ProblemDetails = Type.Object({
  type: Type.String({ description: 'URI naming the problem type; about:blank when the status says it all' }),
  title: Type.String(),
  status: Type.Integer({ minimum: 100, maximum: 599 }),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String({ description: 'The request path that failed' })),
  code: Type.Optional(Type.String({ description: 'Stable machine-readable error code' })),
  errors: Type.Optional(Type.Array(Type.Ref('ValidationIssue')))
}, { $id: 'ProblemDetails', additionalProperties: true, description: 'RFC 9457 problem document' })

export type ProblemDocument = Static<typeof ProblemDetails> & Record<string, unknown>

interface AjvIssue { instancePath?: string, message?: string, keyword?: string, params?: Record<string, unknown> }

/** Fastify's validation errors, as `{ path, message }` entries whose path names the request part. */
export function validationIssues (error: FastifyError): Array<Static<typeof ValidationIssue>> {
  const part = error.validationContext ?? 'body'
  return (error.validation as AjvIssue[] ?? []).map((issue) => {
    let pointer = issue.instancePath ?? ''
    const missing = issue.params?.missingProperty
    if (issue.keyword === 'required' && typeof missing === 'string') pointer += `/${missing}`
    const additional = issue.params?.additionalProperty
    if (issue.keyword === 'additionalProperties' && typeof additional === 'string') pointer += `/${additional}`
    return { path: `/${part}${pointer}`, message: issue.message ?? 'is invalid', keyword: issue.keyword }
  })
}

export function problem (status: number, detail: string | undefined, request: FastifyRequest | undefined,
  extra: Partial<ProblemDocument> = {}): ProblemDocument {
  const doc: ProblemDocument = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status }
  if (detail !== undefined) doc.detail = detail
  // The path is the client's: its unprintable bytes (Node passes bytes above 0x7F through) go out escaped.
  if (request !== undefined) doc.instance = printableText(request.url.split('?')[0], 4096)
  return Object.assign(doc, extra)
}

/**
 * The problem document of one of the library's answers (an entry of lib/errors.ts): its status, its
 * message as the detail, its code.
 */
export function problemOf (answer: { statusCode?: number, message: string, code: string }, request: FastifyRequest | undefined,
  extra: Partial<ProblemDocument> = {}): ProblemDocument {
  return problem(answer.statusCode ?? 500, answer.message, request, { code: answer.code, ...extra })
}

/** The problem document for an HttpError thrown by user code. */
export function problemFromHttpError (error: HttpError, request: FastifyRequest): ProblemDocument {
  return problem(error.statusCode, error.detail, request, {
    ...error.extensions, type: error.type, title: error.title, code: error.code
  })
}

/** Characters never echoed raw: controls (C0, DEL, C1), formatting characters, lone surrogates, and every space but U+0020. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}]|[^\S ]/gu

/**
 * Client input as it may appear in a problem document or a log line: at most `maxLength` UTF-16 units (a
 * surrogate pair is never cut in half) with the unprintable characters written as `\uXXXX` (`\u{XXXXX}`
 * beyond the BMP), so an error never carries terminal escapes, bidi overrides or line breaks back.
 */
export function printableText (text: string, maxLength = 64): string {
  let shown = text.slice(0, maxLength)
  if (/[\uD800-\uDBFF]$/.test(shown) && /[\uDC00-\uDFFF]/.test(text.charAt(maxLength))) shown = shown.slice(0, -1)
  return shown.replace(UNPRINTABLE, (char) => {
    const code = char.codePointAt(0)!
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/**
 * The library's own server-side errors and the words they may show. A backend's text (a Redis reply such
 * as `CROSSSLOT Keys in request don't hash to the same slot`, a host name, a command) stays in the log.
 */
const SERVER_ERROR_DETAILS: Record<string, string> = {
  [FVIEWS_ERR_BROKER_UNAVAILABLE.code]: 'The event broker is unavailable',
  [FVIEWS_ERR_BROKER_CLOSED.code]: 'The event broker is closed',
  [FVIEWS_ERR_STREAM_SLOW.code]: 'The event stream was closed because the client reads too slowly; reconnect to resume'
}

/** Every code of the table: an error carrying one is the library's own. */
const LIBRARY_CODES: ReadonlySet<string> = new Set(Object.values(errors).map((entry) => entry.code))

export interface RevealedServerError {
  status: number
  code: string
  /** Present when the error may be described; otherwise the caller says it was logged. */
  detail?: string
}

/**
 * What a server-side failure that is not an HttpError may reveal, decided in ONE place for HTTP answers
 * (problemFor) and for the `event: error` frame of a stream that already began: the library's own errors
 * (FVIEWS_ERR_*) keep their code and their 5xx status (500 otherwise), with a detail in the library's words when there is one
 * (never their message: it may carry a backend's text); Fastify's own 503s (a handler timeout) keep their
 * fixed message; anything else is a 500 FVIEWS_ERR_INTERNAL that says nothing.
 */
export function revealedServerError (error: unknown): RevealedServerError {
  const { code, statusCode, message } = (error ?? {}) as { code?: unknown, statusCode?: unknown, message?: unknown }
  if (typeof code === 'string' && LIBRARY_CODES.has(code)) {
    // One of ours that reaches this point is the server's failure, whatever status it was made with (a
    // 400 topic error thrown inside a stream's generator is the generator's bug): it keeps its code.
    const status = typeof statusCode === 'number' && statusCode >= 500 && statusCode < 600 ? statusCode : 500
    const detail = SERVER_ERROR_DETAILS[code]
    return detail === undefined ? { status, code } : { status, code, detail }
  }
  if (statusCode === 503 && typeof code === 'string' && code.startsWith('FST_') && typeof message === 'string') {
    return { status: 503, code, detail: message }
  }
  return { status: 500, code: FVIEWS_ERR_INTERNAL.code }
}

/**
 * The problem document of a server-side failure, for an HTTP answer and a stream's `event: error` frame
 * alike: what revealedServerError allows, else `unrevealed`, which says where the error went (by default
 * FVIEWS_ERR_INTERNAL's words, naming the request id the log line carries).
 */
export function serverErrorProblem (error: unknown, request: FastifyRequest,
  unrevealed = new FVIEWS_ERR_INTERNAL(String(request.id)).message): ProblemDocument {
  const revealed = revealedServerError(error)
  return problem(revealed.status, revealed.detail ?? unrevealed, request, { code: revealed.code })
}

/**
 * The response headers an error asks for (`error.headers`, as Fastify's own error handler and plugins such
 * as @fastify/jwt use it: a 401's `WWW-Authenticate`, a 429's `Retry-After`), keeping string values only.
 */
export function errorHeaders (error: unknown): Record<string, string> {
  const headers = (error as { headers?: unknown } | null | undefined)?.headers
  if (headers === null || typeof headers !== 'object') return {}
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
}
