/** The CRM's schemas: each is at once the validator, the OpenAPI component and (with Static) the type. */
import { Type, type Static } from '@sinclair/typebox'
import { defineTopics } from '../../lib/index.js'

export const Role = Type.Union([Type.Literal('agent'), Type.Literal('manager'), Type.Literal('moderator')], { $id: 'Role' })

export const User = Type.Object({
  id: Type.String(),
  name: Type.String(),
  workspace: Type.Union([Type.String(), Type.Null()], { description: 'null for moderators, who see every workspace' }),
  role: Role
}, { $id: 'User' })

export const Thread = Type.Object({ id: Type.Integer(), workspace: Type.String(), title: Type.String() }, { $id: 'Thread' })

export const Comment = Type.Object({
  id: Type.Integer(),
  threadId: Type.Integer(),
  author: Type.String({ description: 'Id of the user who wrote it' }),
  content: Type.String({ minLength: 1, maxLength: 2000 })
}, { $id: 'Comment' })

export const CommentInput = Type.Object({ content: Type.String({ minLength: 1, maxLength: 2000 }) }, { $id: 'CommentInput', additionalProperties: false })

export type Role = Static<typeof Role>
export type User = Static<typeof User>
export type Thread = Static<typeof Thread>
export type Comment = Static<typeof Comment>
export type CommentInput = Static<typeof CommentInput>

/** What every comment event carries: which comment, of which thread (clients refetch it over REST). */
export const CommentRef = Type.Object({ id: Type.Integer(), threadId: Type.Integer() })
export type CommentRef = Static<typeof CommentRef>

const commentEvents = { 'comment:created': CommentRef, 'comment:updated': CommentRef, 'comment:deleted': CommentRef }
const Id = Type.Object({ id: Type.Integer({ minimum: 1 }) })

/**
 * The CRM's topics, declared once: they type the publishers (app.ts) and the browser's handlers (a type
 * import), validate every event, and document the subscription endpoint.
 */
export const topics = defineTopics({
  comments: { events: commentEvents, description: 'every comment of every workspace (moderators only)' },
  'thread:{id}': { params: Id, events: commentEvents, description: 'the comments of one thread (users of its workspace)' },
  'comment:{id}': { params: Id, events: commentEvents, description: 'one comment (users who may see its thread)' }
})
