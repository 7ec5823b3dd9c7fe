/** The CRM's demo data and rules: users with roles and bearer tokens, threads per workspace, comments. */
import type { Comment, Thread, User } from './schemas.js'

export interface DemoUser extends User { token: string }

/** The demo users (listed in the README). A real app would verify a signed token instead. */
export const USERS: readonly DemoUser[] = [
  { id: 'alice', name: 'Alice (Acme, agent)', workspace: 'acme', role: 'agent', token: 'alice-token' },
  { id: 'bob', name: 'Bob (Acme, manager)', workspace: 'acme', role: 'manager', token: 'bob-token' },
  { id: 'carol', name: 'Carol (Globex, agent)', workspace: 'globex', role: 'agent', token: 'carol-token' },
  { id: 'dave', name: 'Dave (moderator, every workspace)', workspace: null, role: 'moderator', token: 'dave-token' }
]

export function userByToken (token: string | undefined): User | undefined {
  const found = USERS.find((user) => user.token === token)
  if (found === undefined) return undefined
  const { token: _token, ...user } = found
  return user
}

/** Threads and comments in memory, so the example runs with nothing installed. */
export class CrmStore {
  readonly threads: readonly Thread[] = [
    { id: 1, workspace: 'acme', title: 'Acme renewal' },
    { id: 2, workspace: 'acme', title: 'Acme onboarding' },
    { id: 3, workspace: 'globex', title: 'Globex pilot' }
  ]

  private readonly comments = new Map<number, Comment>()
  private nextId = 1

  thread (id: number): Thread | undefined { return this.threads.find((thread) => thread.id === id) }
  comment (id: number): Comment | undefined { return this.comments.get(id) }
  commentsOf (threadId: number): Comment[] { return [...this.comments.values()].filter((comment) => comment.threadId === threadId) }

  add (threadId: number, author: string, content: string): Comment {
    const comment = { id: this.nextId++, threadId, author, content }
    this.comments.set(comment.id, comment)
    return comment
  }

  edit (id: number, content: string): Comment | undefined {
    const comment = this.comments.get(id)
    if (comment !== undefined) comment.content = content
    return comment
  }

  remove (id: number): boolean { return this.comments.delete(id) }
}

/** A user sees the threads of their workspace; a moderator sees every workspace. */
export function canSee (user: User, thread: Thread | undefined): boolean {
  return thread !== undefined && (user.role === 'moderator' || user.workspace === thread.workspace)
}

/** The author, a manager of the comment's workspace, or a moderator may change a comment. */
export function canEdit (user: User, comment: Comment, thread: Thread | undefined): boolean {
  if (!canSee(user, thread)) return false
  return comment.author === user.id || user.role === 'moderator' || user.role === 'manager'
}
