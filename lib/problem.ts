/**
 * RFC 9457 Problem Details: the one shape every error leaves in (https://www.rfc-editor.org/rfc/rfc9457).
 */
import { STATUS_CODES } from 'node:http'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyError, FastifyRequest } from 'fastify'
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
  if (request !== undefined) doc.instance = request.url.split('?')[0]
  return Object.assign(doc, extra)
}

/** The problem document for an HttpError thrown by user code. */
export function problemFromHttpError (error: HttpError, request: FastifyRequest): ProblemDocument {
  return problem(error.statusCode, error.detail, request, {
    ...error.extensions, type: error.type, title: error.title, code: error.code
  })
}
