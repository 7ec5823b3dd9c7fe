/** The CRM's schemas: each is at once the validator, the OpenAPI component and (with Static) the type. */
import { Type, type Static } from '@sinclair/typebox'

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
