/**
 * CRM comments (fastapi-sse-events' CRM example, in TypeScript): comment threads per workspace, users with
 * roles and bearer tokens, and a subscription endpoint that authorizes every topic before anything streams.
 *
 * Topics (declared once in schemas.ts: `topics`), each published with data `{ id, threadId }` when a
 * comment is created, updated or deleted:
 *   `comments`       every comment of every workspace: moderators only
 *   `thread:{id}`    the comments of one thread: users of the thread's workspace (and moderators)
 *   `comment:{id}`   one comment: users who may see its thread
 * Without a valid token every route under the API answers 401; a topic the user may not read answers 403
 * naming it, before the stream begins (never a 200 followed by an error event).
 */
import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import {
  APIView, createApp, ForbiddenError, ListCreateView, NotFoundError, publishEvent, RetrieveUpdateDestroyView,
  SubscriptionView, UnauthorizedError, ViewRouter, type Broker, type CatalogTopic, type CreateAppOptions
} from '../../lib/index.js'
import { serveClientScript } from '../client-script.js'
import { canEdit, canSee, CrmStore, USERS, userByToken } from './data.js'
import { Comment, CommentInput, Thread, topics, User, type CommentRef } from './schemas.js'

// ---- authentication: who is asking

/**
 * The bearer token of a request: the Authorization header, or `?access_token=` for EventSource, which
 * cannot set headers (the server's log redacts it: see `redactToken`).
 */
function tokenOf (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined) return /^Bearer (\S+)$/i.exec(header)?.[1]
  const query = (request.query as { access_token?: unknown }).access_token
  return typeof query === 'string' ? query : undefined
}

const unauthorized = () => new UnauthorizedError('A valid bearer token is required: see the README for the demo users',
  { headers: { 'www-authenticate': 'Bearer' } })

/** The signed-in user; the API's onRequest hook has already refused requests without one. */
function userOf (request: FastifyRequest): User {
  const user = request.getDecorator<User | null>('user')
  if (user === null) throw unauthorized()
  return user
}

/** For the server's log: the URL without the value of `access_token`. */
export function redactToken (url: string): string {
  return url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]')
}

// ---- what a comment change announces

/**
 * Every change is announced on `comments`, `thread:<id>` and `comment:<id>`. The data is the comment
 * itself, checked against the catalog's `{ id, threadId }` by the type checker (the method's return type)
 * and written by its schema: the content and author never reach the stream.
 */
const commentTopics = (comment: CommentRef) => ['comments', `thread:${comment.threadId}`, `comment:${comment.id}`] as const

function crmViews (store: CrmStore) {
  class Me extends APIView({ get: { summary: 'The signed-in user', response: { 200: User }, errors: [401] } }) {
    get () { return userOf(this.request) }
  }

  class Threads extends APIView({ get: { summary: 'The threads the signed-in user may see', response: { 200: Type.Array(Thread) }, errors: [401] } }) {
    get () {
      const user = userOf(this.request)
      return store.threads.filter((thread) => canSee(user, thread))
    }
  }

  // The statuses each handler can send, beyond the framework's own (400, 413, 415, 500): 401 from the API's
  // onRequest hook, 403 and 404 from the handlers below.
  class ThreadComments extends ListCreateView({
    model: Comment,
    create: CommentInput,
    params: Type.Object({ threadId: Type.Integer() }),
    tags: ['comments'],
    docs: { list: { errors: [401, 403, 404] }, create: { errors: [401, 403, 404] } }
  }) {
    /** The thread of the URL: 404 when there is none, 403 when it belongs to another workspace. */
    private thread (): Thread {
      const thread = store.thread(this.params.threadId)
      if (thread === undefined) throw new NotFoundError(`Thread '${this.params.threadId}' not found`)
      if (!canSee(userOf(this.request), thread)) throw new ForbiddenError(`Thread '${thread.id}' belongs to another workspace`)
      return thread
    }

    list () { return store.commentsOf(this.thread().id) }

    @publishEvent(topics, { event: 'comment:created', topic: commentTopics })
    create (body: CommentInput) {
      const comment = store.add(this.thread().id, userOf(this.request).id, body.content)
      this.reply.header('location', `/comments/${comment.id}`)
      return comment
    }
  }

  class Comments extends RetrieveUpdateDestroyView({
    model: Comment,
    update: CommentInput,
    id: Type.Integer(),
    tags: ['comments'],
    docs: { retrieve: { errors: [401] }, update: { errors: [401, 403] }, partialUpdate: { errors: [401, 403] }, destroy: { errors: [401, 403] } }
  }) {
    /** The comment, if the user may see it (another workspace's comment is not found); 403 to change one that is not theirs. */
    private find (id: number, change: boolean): Comment | undefined {
      const user = userOf(this.request)
      const comment = store.comment(id)
      if (comment === undefined || !canSee(user, store.thread(comment.threadId))) return undefined
      if (change && !canEdit(user, comment, store.thread(comment.threadId))) {
        throw new ForbiddenError('Only the author, a manager of the workspace or a moderator may change this comment')
      }
      return comment
    }

    retrieve (id: number) { return this.find(id, false) }

    @publishEvent(topics, { event: 'comment:updated', topic: commentTopics })
    update (id: number, body: CommentInput) { return this.find(id, true) && store.edit(id, body.content) }

    @publishEvent(topics, { event: 'comment:updated', topic: commentTopics })
    partialUpdate (id: number, body: Partial<CommentInput>) {
      const comment = this.find(id, true)
      return comment && (body.content === undefined ? comment : store.edit(id, body.content))
    }

    async destroy (id: number) {
      const comment = this.find(id, true)
      if (comment === undefined) return false
      store.remove(id)
      // destroy answers a boolean, so @publishEvent would not know the thread: publish the deleted comment here.
      await (this.request.server.broker as Broker<typeof topics>).publish(commentTopics(comment), 'comment:deleted', comment)
      return true
    }
  }

  /**
   * Called for every requested topic before the stream begins (a name the catalog does not know is a 400
   * first); false answers 403 naming the topic.
   */
  const authorize = (request: FastifyRequest, _topic: string, { template, params }: CatalogTopic<typeof topics>): boolean => {
    const user = userOf(request)
    if (template === 'comments') return user.role === 'moderator'
    const threadId = template === 'thread:{id}' ? params.id : store.comment(params.id)?.threadId
    return threadId !== undefined && canSee(user, store.thread(threadId))
  }

  const Events = SubscriptionView({
    catalog: topics,
    authorize,
    retry: 1000,
    tags: ['events'],
    operationId: 'subscribe',
    errors: [401],
    // EventSource cannot set headers: the token may come as ?access_token= (documented as its own scheme).
    security: [{ bearer: [] }, { accessToken: [] }],
    summary: 'Subscribe to comment topics',
    description: 'Topics: `comments` (moderators), `thread:<id>`, `comment:<id>` (users of the workspace). ' +
      'Events `comment:created`, `comment:updated`, `comment:deleted` with data `{ id, threadId }`; a topic outside the catalog is a 400. ' +
      'Authenticate with `Authorization: Bearer <token>`, or `?access_token=<token>` from an EventSource.'
  })

  return { Me, Threads, ThreadComments, Comments, Events }
}

const publicFile = (name: string): string => readFileSync(new URL(`./public/${name}`, import.meta.url), 'utf8')

export interface CrmOptions extends CreateAppOptions {
  store?: CrmStore
}

export async function build (options: CrmOptions = {}): Promise<FastifyInstance> {
  const { store = new CrmStore(), ...appOptions } = options
  const app = await createApp({
    topics,
    title: 'fastify-views CRM comments',
    version: '1.0.0',
    description: 'Comment threads per workspace, with per-topic authorization of the event stream. ' +
      'Every API route needs `Authorization: Bearer <token>`; the demo tokens are alice-token, bob-token, carol-token and dave-token.',
    license: { name: 'MIT', identifier: 'MIT' },
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A demo token: alice-token, bob-token, carol-token or dave-token' },
      accessToken: { type: 'apiKey', in: 'query', name: 'access_token', description: 'The bearer token in the URL, for EventSource (which cannot set headers)' }
    },
    security: [{ bearer: [] }],
    ...appOptions
  })

  // Public: the page, its script and fastify-views/client, and the demo users it offers (a real app would have a sign-in instead).
  await serveClientScript(app)
  const page = { html: publicFile('index.html'), script: publicFile('app.js') }
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.type('text/html; charset=utf-8').send(page.html))
  app.get('/app.js', { schema: { hide: true } }, (_request, reply) => reply.type('text/javascript; charset=utf-8').send(page.script))
  app.get('/demo-users', { schema: { hide: true } }, () => USERS.map(({ id, name, token }) => ({ id, name, token })))

  // The API: an encapsulated scope whose onRequest hook signs the user in, or answers 401.
  const views = crmViews(store)
  await app.register(async (api) => {
    api.decorateRequest('user', null)
    api.addHook('onRequest', async (request) => {
      const user = userByToken(tokenOf(request))
      if (user === undefined) throw unauthorized()
      request.setDecorator('user', user)
    })
    const router = new ViewRouter()
      .registerView(views.Me, { prefix: '/me' })
      .registerView(views.Threads, { prefix: '/threads' })
      .registerView(views.ThreadComments, { prefix: '/threads/:threadId/comments' })
      .registerView(views.Comments, { prefix: '/comments' })
      .registerView(views.Events, { prefix: '/events' })
    await api.register(router.plugin)
  })
  return app
}
