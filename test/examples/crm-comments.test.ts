/**
 * The CRM example as its users meet it: bearer tokens, per-workspace REST answers, and a subscription
 * endpoint that authorizes every topic before streaming - then each user's EventSource receives exactly
 * the events of what they may see, in order, once.
 */
import t from 'tap'
import { build, redactToken } from '../../examples/crm-comments/app.js'
import type { TestContext } from '../helpers/context.js'
import { http } from '../helpers/http.js'
import type { SSEClient } from '../helpers/sse-client.js'
import { firstEvents, start, sseClient, type Running } from '../helpers/example-app.js'
import { sleep } from '../helpers/wait.js'

const PROBLEM = 'application/problem+json; charset=utf-8'
const TYPES = ['subscribed', 'reset', 'comment:created', 'comment:updated', 'comment:deleted']
const bearer = (user: string) => ({ authorization: `Bearer ${user}-token` })

async function crm (t: TestContext): Promise<Running> {
  const running = await start(build, { env: {}, drainMs: 0, fastify: { logger: false } })
  t.teardown(() => running.app.close())
  return running
}

function client (t: TestContext, url: string, headers?: Record<string, string>): SSEClient {
  return sseClient(t, url, { types: TYPES, headers })
}

t.test('without a valid token every API route answers 401 with a problem document and WWW-Authenticate', async (t) => {
  const { base } = await crm(t)
  const expected = (instance: string) => ({
    type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'A valid bearer token is required: see the README for the demo users', instance, code: 'FVIEWS_HTTP_UNAUTHORIZED'
  })
  for (const [path, headers] of [
    ['/events?topic=thread:1', {}],
    ['/events?topic=thread:1&access_token=nobody', {}],
    ['/threads', {}],
    ['/me', { authorization: 'Bearer mallory-token' }],
    ['/comments/1', { authorization: 'Basic YWxpY2U6YWxpY2U=' }]
  ] as Array<[string, Record<string, string>]>) {
    const res = await http(base, 'GET', path, { headers })
    t.same([res.status, res.headers['content-type'], res.headers['www-authenticate'], res.json()],
      [401, PROBLEM, 'Bearer', expected(path.split('?')[0])], path)
  }
  // The page and its demo users are public.
  t.equal((await http(base, 'GET', '/')).status, 200)
  t.same((await http(base, 'GET', '/demo-users')).json().map((user: { id: string, token: string }) => [user.id, user.token]),
    [['alice', 'alice-token'], ['bob', 'bob-token'], ['carol', 'carol-token'], ['dave', 'dave-token']])
})

t.test('every topic is authorized before anything is streamed: 403 names the first one refused', async (t) => {
  const { base } = await crm(t)
  t.equal((await http(base, 'POST', '/threads/1/comments', { headers: bearer('alice'), body: { content: 'acme only' } })).status, 201)
  const forbidden = (topic: string) => ({
    type: 'about:blank', title: 'Forbidden', status: 403, detail: `Not allowed to subscribe to topic '${topic}'`, instance: '/events', code: 'FVIEWS_ERR_TOPIC_FORBIDDEN', topic
  })
  for (const [user, topics, refused] of [
    ['alice', 'thread:1,thread:3', 'thread:3'], // another workspace's thread
    ['carol', 'comment:1', 'comment:1'], // a comment of another workspace
    ['bob', 'comments', 'comments'], // the feed of every workspace: moderators only
    ['alice', 'thread:99', 'thread:99'] // no such thread: refused like a foreign one
  ]) {
    const res = await http(base, 'GET', `/events?topic=${topics}`, { headers: bearer(user) })
    t.same([res.status, res.headers['content-type'], res.json()], [403, PROBLEM, forbidden(refused)], `${user}: ${topics}`)
  }
  // Not a topic of this app's catalog, or a template with a parameter that is no id: a 400 naming it, before authorize.
  for (const [topic, detail] of [
    ['workspace:acme', "Unknown topic 'workspace:acme': not in the topic catalog (it declares 'comments', 'thread:{id}', 'comment:{id}')"],
    ['thread:*', "Unknown topic 'thread:*': it matches 'thread:{id}', but parameter id expected integer"]
  ]) {
    const res = await http(base, 'GET', `/events?topic=thread:1,${topic}`, { headers: bearer('alice') })
    t.same([res.status, res.headers['content-type'], res.json()], [400, PROBLEM, {
      type: 'about:blank', title: 'Bad Request', status: 400, detail, instance: '/events', code: 'FVIEWS_ERR_TOPIC_UNKNOWN', topic
    }], topic)
  }
  const res = await http(base, 'GET', '/events', { headers: bearer('alice') })
  t.same([res.status, res.json().code], [400, 'FVIEWS_ERR_TOPIC_INVALID'])
})

t.test('REST answers follow the workspace: exact statuses and bodies', async (t) => {
  const { base } = await crm(t)
  t.same((await http(base, 'GET', '/me', { headers: bearer('carol') })).json(), { id: 'carol', name: 'Carol (Globex, agent)', workspace: 'globex', role: 'agent' })
  t.same((await http(base, 'GET', '/threads', { headers: bearer('alice') })).json(),
    [{ id: 1, workspace: 'acme', title: 'Acme renewal' }, { id: 2, workspace: 'acme', title: 'Acme onboarding' }])
  t.same((await http(base, 'GET', '/threads', { headers: bearer('carol') })).json(), [{ id: 3, workspace: 'globex', title: 'Globex pilot' }])
  t.equal((await http(base, 'GET', '/threads', { headers: bearer('dave') })).json().length, 3, 'a moderator sees every workspace')

  let res = await http(base, 'POST', '/threads/1/comments', { headers: bearer('alice'), body: { content: 'renewal call on Monday' } })
  t.same([res.status, res.headers.location, res.json()], [201, '/comments/1', { id: 1, threadId: 1, author: 'alice', content: 'renewal call on Monday' }])
  res = await http(base, 'GET', '/threads/3/comments', { headers: bearer('alice') })
  t.same([res.status, res.json()], [403, { type: 'about:blank', title: 'Forbidden', status: 403, detail: "Thread '3' belongs to another workspace", instance: '/threads/3/comments', code: 'FVIEWS_HTTP_FORBIDDEN' }])
  res = await http(base, 'POST', '/threads/3/comments', { headers: bearer('alice'), body: { content: 'sneaky' } })
  t.equal(res.status, 403)
  res = await http(base, 'GET', '/threads/99/comments', { headers: bearer('alice') })
  t.same([res.status, res.json().detail], [404, "Thread '99' not found"])
  res = await http(base, 'POST', '/threads/1/comments', { headers: bearer('alice'), body: { content: '' } })
  t.same([res.status, res.json().errors], [400, [{ path: '/body/content', message: 'must NOT have fewer than 1 characters', keyword: 'minLength' }]])

  t.same((await http(base, 'GET', '/threads/1/comments', { headers: bearer('bob') })).json(), [{ id: 1, threadId: 1, author: 'alice', content: 'renewal call on Monday' }])
  t.same((await http(base, 'GET', '/comments/1', { headers: bearer('bob') })).json(), { id: 1, threadId: 1, author: 'alice', content: 'renewal call on Monday' })
  res = await http(base, 'GET', '/comments/1', { headers: bearer('carol') })
  t.same([res.status, res.json().detail], [404, "Comment '1' not found"], 'another workspace\'s comment does not exist for carol')

  t.equal((await http(base, 'POST', '/threads/1/comments', { headers: bearer('bob'), body: { content: 'by bob' } })).status, 201)
  res = await http(base, 'PUT', '/comments/2', { headers: bearer('alice'), body: { content: 'edited by alice' } })
  t.same([res.status, res.json().detail], [403, 'Only the author, a manager of the workspace or a moderator may change this comment'])
  res = await http(base, 'PATCH', '/comments/1', { headers: bearer('bob'), body: { content: 'renewal call moved to Tuesday' } })
  t.same([res.status, res.json()], [200, { id: 1, threadId: 1, author: 'alice', content: 'renewal call moved to Tuesday' }], 'a manager edits any comment of the workspace')
  res = await http(base, 'DELETE', '/comments/2', { headers: bearer('dave') })
  t.same([res.status, res.text], [204, ''], 'a moderator deletes any comment')
  t.equal((await http(base, 'DELETE', '/comments/2', { headers: bearer('dave') })).status, 404)
})

t.test('each user receives the events of what they may see, live, in order, exactly once', async (t) => {
  const { base } = await crm(t)
  // EventSource cannot set headers: alice's page sends her token in the query; the others use the header.
  const alice = client(t, `${base}/events?topic=thread:1,thread:2&access_token=alice-token`)
  const carol = client(t, `${base}/events?topic=thread:3`, bearer('carol'))
  const dave = client(t, `${base}/events?topic=comments`, bearer('dave'))
  t.same(await firstEvents(alice, 1), [['subscribed', { topics: ['thread:1', 'thread:2'] }]])
  t.same(await firstEvents(carol, 1), [['subscribed', { topics: ['thread:3'] }]])
  t.same(await firstEvents(dave, 1), [['subscribed', { topics: ['comments'] }]])

  t.equal((await http(base, 'POST', '/threads/1/comments', { headers: bearer('bob'), body: { content: 'renewal signed' } })).status, 201)
  // bob follows his own comment from now on.
  const bobOnComment = client(t, `${base}/events?topic=comment:1`, bearer('bob'))
  await firstEvents(bobOnComment, 1)
  t.equal((await http(base, 'POST', '/threads/3/comments', { headers: bearer('carol'), body: { content: 'pilot started' } })).status, 201)
  t.equal((await http(base, 'POST', '/threads/2/comments', { headers: bearer('alice'), body: { content: 'kickoff booked' } })).status, 201)
  t.equal((await http(base, 'PUT', '/comments/1', { headers: bearer('alice'), body: { content: 'mine now' } })).status, 403, 'refused: announces nothing')
  t.equal((await http(base, 'PUT', '/comments/1', { headers: bearer('bob'), body: { content: 'renewal signed, 3 years' } })).status, 200)
  t.equal((await http(base, 'DELETE', '/comments/2', { headers: bearer('carol') })).status, 204)
  t.equal((await http(base, 'DELETE', '/comments/1', { headers: bearer('bob') })).status, 204)

  t.same(await firstEvents(alice, 5), [
    ['subscribed', { topics: ['thread:1', 'thread:2'] }],
    ['comment:created', { id: 1, threadId: 1 }],
    ['comment:created', { id: 3, threadId: 2 }],
    ['comment:updated', { id: 1, threadId: 1 }],
    ['comment:deleted', { id: 1, threadId: 1 }]
  ])
  t.same(await firstEvents(carol, 3), [
    ['subscribed', { topics: ['thread:3'] }],
    ['comment:created', { id: 2, threadId: 3 }],
    ['comment:deleted', { id: 2, threadId: 3 }]
  ])
  t.same(await firstEvents(dave, 7), [
    ['subscribed', { topics: ['comments'] }],
    ['comment:created', { id: 1, threadId: 1 }],
    ['comment:created', { id: 2, threadId: 3 }],
    ['comment:created', { id: 3, threadId: 2 }],
    ['comment:updated', { id: 1, threadId: 1 }],
    ['comment:deleted', { id: 2, threadId: 3 }],
    ['comment:deleted', { id: 1, threadId: 1 }]
  ])
  t.same(await firstEvents(bobOnComment, 3), [
    ['subscribed', { topics: ['comment:1'] }],
    ['comment:updated', { id: 1, threadId: 1 }],
    ['comment:deleted', { id: 1, threadId: 1 }]
  ])

  // Nothing more for anyone: one last globex comment is the sentinel that reaches carol and dave only.
  t.equal((await http(base, 'POST', '/threads/3/comments', { headers: bearer('carol'), body: { content: 'last' } })).status, 201)
  await firstEvents(carol, 4)
  await firstEvents(dave, 8)
  await sleep(50)
  t.same([alice.events.length, carol.events.length, dave.events.length, bobOnComment.events.length], [5, 4, 8, 3])
})

t.test('the server log never shows a token from the query', async (t) => {
  t.equal(redactToken('/events?topic=thread:1&access_token=alice-token'), '/events?topic=thread:1&access_token=[redacted]')
  t.equal(redactToken('/events?access_token=alice-token&topic=thread:1'), '/events?access_token=[redacted]&topic=thread:1')
  t.equal(redactToken('/threads'), '/threads')
})
