/**
 * A topic event that the relaying view's schema refuses (published by another service, an older version,
 * a bug): it is never sent, and it must not wedge the client. Before, the error frame carried no id, so the
 * client resumed from the event before it, the replay met the same event, failed at the same place and sent
 * the same frame - for ever, on the pull path (`for await`) and the push path (`yield*`) alike. Now the error
 * frame carries the refused event's id (its cursor): a client that resumes with it moves past the event and
 * gets everything after it. The refusal is logged with the event's topic and id and counted
 * (`refusedEvents`); nothing accepted is skipped silently.
 */
import t from 'tap'
import { Type, type Static } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { startRedis } from '../helpers/redis-server.js'
import { LogCapture, openStreams } from '../helpers/sse-http.js'
import { describe, noteKeys } from '../helpers/ledger.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

const redis = await startRedis({ t })
const Note = Type.Object({ topic: Type.String(), n: Type.Integer() }, { additionalProperties: false })
const Subscribed = Type.Object({ topics: Type.Array(Type.String()) }, { additionalProperties: false })

class PullRelay extends ServerSideEventsView({ data: Type.Union([Note, Subscribed]), heartbeatSeconds: 0 }) {
  async * events () {
    for await (const event of this.app.broker.subscribe<Static<typeof Note>>(['t'], { signal: this.signal, lastEventId: this.lastEventId })) {
      yield { event: event.event, data: event.data, id: event.id }
    }
  }
}

class PushRelay extends ServerSideEventsView({ data: Type.Union([Note, Subscribed]), heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<Static<typeof Note>>(['t'], { signal: this.signal, lastEventId: this.lastEventId })
  }
}

const refusedDoc = (instance: string) => ({
  type: 'about:blank',
  title: 'Internal Server Error',
  status: 500,
  detail: 'The event stream failed; the error was logged with request id rid-1',
  instance,
  code: 'FVIEWS_ERR_SSE_INVALID_EVENT'
})

for (const backend of ['memory', 'redis'] as const) {
  for (const [path, view] of [['/pull', PullRelay], ['/push', PushRelay]] as const) {
    t.test(`${backend}, ${path}: a refused event ends the stream with its id, so a resume moves past it`, async (t) => {
      const logs = new LogCapture()
      const { app, base } = await startApp(t, {
        redisUrl: backend === 'redis' ? redis.url : undefined,
        views: { [path]: view },
        app: { fastify: { logger: { level: 'warn', stream: logs }, genReqId: () => 'rid-1' } }
      })
      const first = await StreamReader.open(base, path)
      t.teardown(() => first.close())
      await until(() => first.frames.length === 1, 'subscribed')
      // Live: 1, 2, a refused event (n is not an integer), 4, 5 - one at a time and in one burst.
      const publish = (n: number | string) => app.broker.publish('t', 'note', { topic: 't', n })
      for (const n of [1, 2, 'three', 4, 5]) await publish(n)
      await until(() => first.ended, 'the first stream ends')
      const refusedAt = first.frames[3]
      t.same(describe(first.frames.slice(0, 3)), ['subscribed {"topics":["t"]}', 't#1', 't#2'], 'the events before the refused one')
      t.same({ ...refusedAt, id: undefined }, { event: 'error', data: JSON.stringify(refusedDoc(path)), id: undefined }, 'then one error frame')
      t.equal(first.frames.length, 4, 'and nothing after it')
      t.type(refusedAt.id, 'string', 'the error frame carries the refused event\'s id')

      // The resume from the error frame's id moves past the refused event: 4 and 5 (replayed), then live.
      const resumed = await StreamReader.open(base, path, { 'last-event-id': refusedAt.id as string })
      t.teardown(() => resumed.close())
      await resumed.waitForPublished(2, 'the events after the refused one')
      await publish(6)
      await resumed.waitForPublished(3, 'the live event')
      t.same(describe(resumed.frames), ['subscribed {"topics":["t"]}', ...noteKeys([4, 5, 6].map((n) => ({ topic: 't', n })))], 'exactly the events after it')
      t.equal(resumed.ended, false)

      // A resume from before the refused event meets it again, and again gets past it: never wedged.
      const again = await StreamReader.open(base, path, { 'last-event-id': first.frames[2].id as string })
      t.teardown(() => again.close())
      await until(() => again.ended, 'the resume from before it ends at it')
      t.same(again.frames.map((frame) => frame.event), ['subscribed', 'error'])
      t.equal(again.frames[1].id, refusedAt.id, 'with the same id')

      const refused = logs.matching((line) => line.msg === 'event stream failed')
      t.same(refused.map((line) => [line.route, line.topic, line.eventId, (line.err as any)?.code]), [
        [path, 't', refusedAt.id, 'FVIEWS_ERR_SSE_INVALID_EVENT'],
        [path, 't', refusedAt.id, 'FVIEWS_ERR_SSE_INVALID_EVENT']
      ], 'each refusal is logged with the route, the topic and the event\'s id')
      t.equal(app.topicMetrics.refusedEvents, 2, 'and counted')
      await until(() => openStreams(app) === 1, 'the ended streams left the registry')
    })
  }
}
