/**
 * The topic catalog over real HTTP, on the memory and the Redis broker: publish validates and strips,
 * an endpoint's invalid event is a 500 problem saying the change was applied, a name the catalog does
 * not know is a 400 naming it, authorize gets the parsed parameters, and the OpenAPI document lists
 * every event with its data schema.
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import {
  APIView, createApp, defineTopics, MemoryBroker, publishEvent, subscribeToEvents, SubscriptionView, ViewRouter,
  type Broker, type CatalogTopic
} from '../../lib/index.js'
import { RedisBroker } from '../../lib/redis.js'
import { http, listen } from '../helpers/http.js'
import { frames, openStream } from '../helpers/sse-http.js'
import { startRedis } from '../helpers/redis-server.js'
import type { TestContext } from '../helpers/context.js'

const PROBLEM = 'application/problem+json; charset=utf-8'
const Task = Type.Object({ id: Type.Integer(), title: Type.String() })
const topics = defineTopics({
  'task:{id}': { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), events: { updated: Task, deleted: Type.Object({ id: Type.Integer() }) } },
  announcements: { events: { posted: Type.Object({ text: Type.String() }) }, description: 'News for everyone' },
  'org:{org}:team:{team}': { events: { posted: Type.Object({ text: Type.String() }) } }
})

/** One stream's frames without their ids (cursors carry a random epoch), in order. */
function withoutIds (text: string): string[] {
  return frames(text).filter((frame) => !frame.startsWith(':')).map((frame) => frame.replace(/^id: .*\n/m, ''))
}

async function appWith (t: TestContext, broker: Broker<typeof topics>, authorize?: (request: unknown, topic: string, resolved: CatalogTopic<typeof topics>) => boolean) {
  class Tasks extends APIView({ post: { body: Type.Object({ title: Type.String() }), response: { 201: Type.Object({ id: Type.Integer(), title: Type.String(), secret: Type.String() }) } } }) {
    @publishEvent(topics, { event: 'updated', topic: 'task:{id}' })
    post () {
      this.reply.code(201)
      return { id: 7, title: this.body.title, secret: 'internal' }
    }
  }
  class Broken extends APIView({ post: { response: { 201: Type.Object({ id: Type.Integer(), title: Type.Any() }) } } }) {
    @publishEvent(topics, { event: 'updated', topic: 'task:{id}' })
    post () {
      this.reply.code(201)
      // A bug the type checker cannot see (data from an untyped source): the catalog refuses it at run time.
      return { id: 7, title: 42 as unknown as string }
    }
  }
  const app = await createApp({ env: {}, fastify: { logger: false }, broker })
  t.teardown(() => app.close())
  await app.register(new ViewRouter()
    .registerView(Tasks, { prefix: '/tasks' })
    .registerView(Broken, { prefix: '/broken' })
    .registerView(SubscriptionView({ catalog: topics, authorize }), { prefix: '/events' })
    .registerView(SubscriptionView(), { prefix: '/plain-events' })
    .plugin)
  return { app, base: await listen(app) }
}

t.test('declarations the catalog cannot serve are refused when defined, naming the entry and the fix', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{}, "Topic catalog entry '(catalog)' is invalid: defineTopics() needs an object of topics, e.g. { 'task:{id}': { events: { updated: Task } } }"],
    [{ a: { events: {} } }, "Topic catalog entry 'a' is invalid: 'events' must name at least one event with its data schema, e.g. { events: { updated: Task } }"],
    [{ 'a b': { events: { x: Task } } }, "Topic catalog entry 'a b' is invalid: contains whitespace"],
    [{ 'task:{id': { events: { x: Task } } }, "Topic catalog entry 'task:{id' is invalid: contains a brace (braces choose Redis Cluster slots) (placeholders are {name})"],
    [{ 'task:{i d}': { events: { x: Task } } }, "Topic catalog entry 'task:{i d}' is invalid: parameter 'i d' is not a plain name (letters, digits, _ and $)"],
    [{ '{a}{b}': { events: { x: Task } } }, "Topic catalog entry '{a}{b}' is invalid: two parameters must be separated by fixed text, e.g. {org}:{team}"],
    [{ '{a}:{a}': { events: { x: Task } } }, "Topic catalog entry '{a}:{a}' is invalid: parameter 'a' appears twice"],
    [{ 'task:{id}': { params: Type.Object({ key: Type.String() }), events: { x: Task } } }, "Topic catalog entry 'task:{id}' is invalid: 'params' must declare exactly the template's parameters (id); missing id"],
    [{ a: { events: { reset: Task } } }, "Topic catalog entry 'a' is invalid: event name 'reset' is the stream's own (subscribed, reset, heartbeat): choose another"],
    [{ a: { events: { 'x\ny': Task } } }, "Topic catalog entry 'a' is invalid: event name 'x\\u000ay' is empty or contains CR, LF or NUL"],
    [{ a: { events: { x: 'string' } } }, "Topic catalog entry 'a' is invalid: event 'x' needs a TypeBox schema of its data, e.g. Type.Object({ id: Type.Integer() })"]
  ]
  for (const [definition, message] of cases) {
    t.throws(() => defineTopics(definition as any), { code: 'FVIEWS_ERR_TOPIC_CATALOG_INVALID', message }, message)
  }
})

t.test('names resolve to their template and parsed parameters; a parameter is one part without a colon', async (t) => {
  t.same(topics.resolve('task:7'), { name: 'task:7', template: 'task:{id}', params: { id: 7 } })
  t.same(topics.resolve('announcements'), { name: 'announcements', template: 'announcements', params: {} })
  t.same(topics.resolve('org:acme:team:red'), { name: 'org:acme:team:red', template: 'org:{org}:team:{team}', params: { org: 'acme', team: 'red' } })
  t.same(topics.resolve('task:abc'), { problem: "it matches 'task:{id}', but parameter id expected integer" })
  // One spelling per topic: a converted parameter must print back as written, or a subscriber to 'task:1e3'
  // would be authorized as another task (TypeBox converts '1e3' to 1) while its stream's name never meets that task's publishes.
  for (const [written, canonical] of [['007', '7'], ['+7', '7'], ['7.0', '7'], ['1e3', '1'], ['1.9', '1'], ['0x10', '16'], ['-0', '0'], ['9007199254740993', '9007199254740992']]) {
    const resolved = topics.resolve(`task:${written}`)
    if ('problem' in resolved && resolved.problem.includes('parameter id expected')) {
      t.match(resolved.problem, /^it matches 'task:\{id\}', but parameter id expected/, `task:${written} is refused by the schema`)
    } else {
      t.same(resolved, { problem: `it matches 'task:{id}', but parameter id is '${written}', not written as '${canonical}' (a topic has one spelling, so subscriptions and publishes meet)` }, `task:${written} is refused`)
    }
  }
  t.throws(() => topics.name('task:{id}', { id: '1e3' as unknown as number }), { code: 'FVIEWS_ERR_TOPIC_UNKNOWN' })
  t.same(topics.resolve('task:0'), { problem: "it matches 'task:{id}', but parameter id expected integer to be greater or equal to 1" })
  t.same(topics.resolve('task:7:comments'), { problem: "not in the topic catalog (it declares 'task:{id}', 'announcements', 'org:{org}:team:{team}')" })
  t.same(topics.resolve('task:'), { problem: "not in the topic catalog (it declares 'task:{id}', 'announcements', 'org:{org}:team:{team}')" })
  t.equal(topics.name('task:{id}', { id: 7 }), 'task:7')
  t.throws(() => topics.name('task:{id}', { id: 'x:y' as unknown as number }), { code: 'FVIEWS_ERR_TOPIC_UNKNOWN' })
  // The phantom type member is not there at run time.
  t.notOk('~topics' in topics)
})

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: publish validates against the catalog and sends only what it declares`, async (t) => {
    let broker: Broker<typeof topics>
    if (backend === 'memory') broker = new MemoryBroker({ topics })
    else {
      const redis = await startRedis({ t })
      broker = new RedisBroker({ url: redis.url, topics })
    }
    t.teardown(() => broker.close())
    const { base } = await appWith(t, broker)
    const stream = await openStream(base, '/events?topic=task:7,announcements')
    t.teardown(() => stream.body.close())
    t.equal(stream.status, 200)
    await stream.body.until('event: subscribed')

    // Refused, each before anything is sent: the wrong data, an event the topic does not carry, a name the catalog does not know.
    await t.rejects(broker.publish('task:7', 'updated', { id: 7 } as any), {
      code: 'FVIEWS_ERR_EVENT_INVALID', message: "Event refused by the topic catalog: event 'updated' of topic 'task:7': data/title expected required property"
    })
    await t.rejects(broker.publish('task:7', 'posted' as any, { text: 'x' }), {
      code: 'FVIEWS_ERR_EVENT_INVALID', message: "Event refused by the topic catalog: 'posted' is not an event of topic 'task:7' ('task:{id}' carries updated, deleted)"
    })
    await t.rejects((broker as Broker).publish('tasks', 'updated', { id: 7, title: 'x' }), {
      code: 'FVIEWS_ERR_TOPIC_UNKNOWN', message: "Unknown topic 'tasks': not in the topic catalog (it declares 'task:{id}', 'announcements', 'org:{org}:team:{team}')"
    })
    await t.rejects((broker as Broker).publish(['announcements', 'task:7'], 'posted', { text: 'x' }), { code: 'FVIEWS_ERR_EVENT_INVALID' })
    // Accepted: an undeclared property is dropped on the way out.
    await broker.publish('task:7', 'updated', { id: 7, title: 'Write', password: 'hunter2' } as any)
    await broker.publish(['announcements', 'org:a:team:b'], 'posted', { text: 'hello' })

    const text = await stream.body.until('event: posted')
    t.same(withoutIds(text), [
      'event: subscribed\ndata: {"topics":["announcements","task:7"]}\n\n',
      'event: updated\ndata: {"id":7,"title":"Write"}\n\n',
      'event: posted\ndata: {"text":"hello"}\n\n'
    ])
  })
}

t.test('publishEvent(topics, ...): the result is the data; an invalid one is a 500 problem saying the change was applied', async (t) => {
  const broker = new MemoryBroker({ topics })
  const { base } = await appWith(t, broker)
  const stream = await openStream(base, '/events?topic=task:7')
  t.teardown(() => stream.body.close())
  await stream.body.until('event: subscribed')

  let res = await http(base, 'POST', '/broken')
  t.equal(res.status, 500)
  t.equal(res.headers['content-type'], PROBLEM)
  t.same(res.json(), {
    type: 'about:blank',
    title: 'Internal Server Error',
    status: 500,
    detail: "The change was applied, but its 'updated' event was not published: Event refused by the topic catalog: event 'updated' of topic 'task:7': data/title expected string. Do not repeat the request; read the current state instead.",
    instance: '/broken',
    code: 'FVIEWS_ERR_EVENT_INVALID',
    applied: true,
    publication: 'refused',
    event: 'updated'
  })

  res = await http(base, 'POST', '/tasks', { body: { title: 'Write' } })
  t.equal(res.status, 201)
  t.same(res.json(), { id: 7, title: 'Write', secret: 'internal' }, 'the answer is the view\'s; the event is the catalog\'s')
  const text = await stream.body.until('event: updated')
  t.same(withoutIds(text), ['event: subscribed\ndata: {"topics":["task:7"]}\n\n', 'event: updated\ndata: {"id":7,"title":"Write"}\n\n'])
})

t.test('a publishEvent catalog the broker does not have still checks the data', async (t) => {
  const broker = new MemoryBroker()
  const { base } = await appWith(t, broker as unknown as Broker<typeof topics>)
  const res = await http(base, 'POST', '/broken')
  t.equal(res.status, 500)
  t.equal(res.json().code, 'FVIEWS_ERR_EVENT_INVALID')
  t.equal(broker.stats.publishedEvents, 0)
})

t.test('subscribing to a name the catalog does not know is a 400 naming it, before authorize runs', async (t) => {
  const asked: string[] = []
  const { base } = await appWith(t, new MemoryBroker({ topics }), (_request, topic) => { asked.push(topic); return true })
  const cases: Array<[string, string, string]> = [
    ['task:*', 'task:*', "Unknown topic 'task:*': it matches 'task:{id}', but parameter id expected integer"],
    ['announcements,tasks', 'tasks', "Unknown topic 'tasks': not in the topic catalog (it declares 'task:{id}', 'announcements', 'org:{org}:team:{team}')"],
    ['task:7:comments', 'task:7:comments', "Unknown topic 'task:7:comments': not in the topic catalog (it declares 'task:{id}', 'announcements', 'org:{org}:team:{team}')"]
  ]
  for (const prefix of ['/events', '/plain-events']) {
    for (const [query, topic, detail] of cases) {
      const res = await http(base, 'GET', `${prefix}?topic=${encodeURIComponent(query)}`)
      t.equal(res.status, 400, query)
      t.equal(res.headers['content-type'], PROBLEM)
      t.same(res.json(), { type: 'about:blank', title: 'Bad Request', status: 400, detail, instance: prefix, code: 'FVIEWS_ERR_TOPIC_UNKNOWN', topic }, `${prefix} ${query}`)
    }
  }
  t.same(asked, [])
})

t.test('authorize receives each topic\'s template and parsed (converted) parameters', async (t) => {
  const seen: unknown[] = []
  const { base } = await appWith(t, new MemoryBroker({ topics }), (_request, topic, resolved) => {
    seen.push([topic, resolved.template, resolved.params])
    if (resolved.template === 'task:{id}') return resolved.params.id !== 13
    return true
  })
  const stream = await openStream(base, '/events?topic=task:7,org:acme:team:red,announcements')
  t.teardown(() => stream.body.close())
  t.equal(stream.status, 200)
  t.same(seen, [['task:7', 'task:{id}', { id: 7 }], ['org:acme:team:red', 'org:{org}:team:{team}', { org: 'acme', team: 'red' }], ['announcements', 'announcements', {}]])
  const res = await http(base, 'GET', '/events?topic=task:13')
  t.same([res.status, res.json().detail], [403, "Not allowed to subscribe to topic 'task:13'"])
})

t.test('the OpenAPI document lists every event of the catalog with its data schema', async (t) => {
  const broker = new MemoryBroker({ topics })
  const { app } = await appWith(t, broker)
  const document = app.swagger() as any
  for (const path of ['/events', '/plain-events']) {
    const response = document.paths[path].get.responses['200']
    t.match(response.description, 'Topics and their events: `task:{id}`: `updated`, `deleted`; `announcements`: `posted` - News for everyone; `org:{org}:team:{team}`: `posted`.', path)
    const schema = response.content['text/event-stream'].schema
    const byName = Object.fromEntries(schema.oneOf.map((item: any) => [item.properties.event.const ?? item.properties.event.enum[0], item.properties.data]))
    t.same(Object.keys(byName), ['subscribed', 'reset', 'updated', 'deleted', 'posted'], path)
    t.same(byName.updated, { type: 'object', properties: { id: { type: 'integer' }, title: { type: 'string' } }, required: ['id', 'title'] })
    t.same(byName.posted, { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] })
    t.match(document.paths[path].get.parameters.find((p: any) => p.name === 'topic').description, 'Comma-separated topics of the catalog: `task:{id}`, `announcements`, `org:{org}:team:{team}`')
    t.ok(document.paths[path].get.responses['400'], `${path} documents its 400`)
  }
})

t.test('a fixed topic list is checked against the catalog at definition; createApp takes the catalog for its own broker', async (t) => {
  t.throws(() => SubscriptionView({ catalog: topics, topics: ['task:x'] }), {
    code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'topics': 'task:x' it matches 'task:{id}', but parameter id expected integer"
  })
  t.throws(() => SubscriptionView({ catalog: {} as any }), { code: 'FVIEWS_ERR_OPTION_INVALID' })
  await t.rejects(createApp({ env: {}, topics: { a: 1 } as any }), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'topics': expected a topic catalog made by defineTopics({ ... })" })
  await t.rejects(createApp({ env: {}, topics, broker: new MemoryBroker() }), { code: 'FVIEWS_ERR_OPTION_INVALID' })
  const app = await createApp({ env: {}, fastify: { logger: false }, topics })
  t.teardown(() => app.close())
  t.equal(app.broker.catalog, topics)
  await t.rejects(app.broker.publish('nope', 'x', {}), { code: 'FVIEWS_ERR_TOPIC_UNKNOWN' })
})

t.test('two templates that can match one name are refused when defined, naming both, a shared name and the fix', async (t) => {
  const fix = "so a name would belong to whichever was declared first. Make their fixed text differ (e.g. 'user:{id}' and 'user-by-name:{name}'), or declare one template"
  const x = { events: { x: Task } }
  const cases: Array<[Record<string, unknown>, string, string, string]> = [
    [{ 'user:{id}': { params: Type.Object({ id: Type.Integer() }), events: { x: Task } }, 'user:{name}': x }, 'user:{id}', 'user:{name}', 'user:x'],
    [{ 'a{x}': x, '{y}b': x }, 'a{x}', '{y}b', 'ab'],
    [{ 'org:{org}:team:{team}': x, 'org:{org}:{kind}:red': x }, 'org:{org}:team:{team}', 'org:{org}:{kind}:red', 'org:x:team:red'],
    [{ announcements: x, 'room:{id}': x, 'room:{id}x': x }, 'room:{id}', 'room:{id}x', 'room:yx'],
    [{ 'task-{id}': x, 'task-{a}-{b}': x }, 'task-{id}', 'task-{a}-{b}', 'task-x-x']
  ]
  for (const [definition, first, second, shared] of cases) {
    const message = `Topic catalog templates '${first}' and '${second}' overlap: both match '${shared}', ${fix}`
    t.throws(() => defineTopics(definition as any), { code: 'FVIEWS_ERR_TOPIC_CATALOG_OVERLAP', message }, message)
  }
  // Templates no name can match twice are accepted: a parameter never takes a ':', and fixed text differs.
  const apart = defineTopics({ 'task:{id}': x, 'task:{id}:comments': x, 'user:{id}': x, 'user-by-name:{name}': x, 'org:{org}:team:{team}': x, 'task:archive': x })
  t.same(apart.resolve('task:7:comments'), { name: 'task:7:comments', template: 'task:{id}:comments', params: { id: '7' } })
  // A fixed name beside a template that also matches it: the exact name wins, whatever the order.
  t.same(apart.resolve('task:archive'), { name: 'task:archive', template: 'task:archive', params: {} })
  t.same(apart.resolve('user-by-name:ann'), { name: 'user-by-name:ann', template: 'user-by-name:{name}', params: { name: 'ann' } })
})

t.test('a fixed topic list outside the broker\'s catalog fails app.ready(), naming the route, the topic and the fix', async (t) => {
  const unknown = "which the app's topic catalog refuses (not in the topic catalog (it declares 'task:{id}', 'announcements', 'org:{org}:team:{team}')): declare it in defineTopics(), or correct the route's 'topics'"
  const app = await createApp({ env: {}, fastify: { logger: false }, topics })
  app.get('/news', subscribeToEvents({ topics: ['announcements', 'anouncements'] }))
  await t.rejects(async () => { await app.ready() }, { code: 'FVIEWS_ERR_ROUTE_TOPIC_UNKNOWN', message: `Route GET /news subscribes to topic 'anouncements', ${unknown}` })
  await app.close()

  const viewApp = await createApp({ env: {}, fastify: { logger: false }, topics })
  await viewApp.register(new ViewRouter().registerView(SubscriptionView({ topics: ['task:x'] }), { prefix: '/task-x' }).plugin)
  await t.rejects(async () => { await viewApp.ready() }, {
    code: 'FVIEWS_ERR_ROUTE_TOPIC_UNKNOWN',
    message: "Route GET /task-x of view TopicSubscription subscribes to topic 'task:x', which the app's topic catalog refuses (it matches 'task:{id}', but parameter id expected integer): declare it in defineTopics(), or correct the route's 'topics'"
  })
  await viewApp.close()

  // Names the catalog knows start, and stream.
  const good = await createApp({ env: {}, fastify: { logger: false }, topics })
  t.teardown(() => good.close())
  good.get('/news', subscribeToEvents({ topics: ['announcements', 'task:7'] }))
  await good.register(new ViewRouter().registerView(SubscriptionView({ topics: ['org:acme:team:red'] }), { prefix: '/red' }).plugin)
  const base = await listen(good)
  const stream = await openStream(base, '/news')
  t.teardown(() => stream.body.close())
  await stream.body.until('event: subscribed\n')
  t.equal(stream.status, 200)
})
