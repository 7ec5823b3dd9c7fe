/**
 * A catalog holds at delivery, not only at publish (outside review F2): on one real Redis, app A's broker
 * has the topic catalog and a second broker has none ("another service, an older version"). Whatever the
 * second one publishes to a catalog topic is checked once per event by A's broker: bad data and an event
 * the topic does not declare never reach a SubscriptionView subscriber, live or on a resume from history,
 * an undeclared property is dropped, and every valid event around them arrives exactly once, in order,
 * with the cursor past what was refused. Each refusal is logged once and counted in
 * `broker.stats.refusedMessages`; A's own publishes are not checked again.
 */
import t from 'tap'
import fc from 'fast-check'
import { Type } from '@sinclair/typebox'
import { createApp, defineTopics, SubscriptionView, ViewRouter } from '../../lib/index.js'
import { RedisBroker } from '../../lib/redis.js'
import { soloCursor, topicSetKey } from '../../lib/broker/cursor.js'
import { listen } from '../helpers/http.js'
import { frames as allFrames, LogCapture, openStream, type OpenedStream } from '../helpers/sse-http.js'
import { startRedis } from '../helpers/redis-server.js'
import { until } from '../helpers/wait.js'
import type { TestContext } from '../helpers/context.js'

const REFUSED_LOG = 'broker: an event the topic catalog refuses (not published by this broker) was not delivered'

async function rig (t: TestContext) {
  const redis = await startRedis({ t })
  const topics = defineTopics({ 'cat:{id}': { events: { e: Type.Object({ n: Type.Integer() }) } } })
  // Every check the catalog makes at delivery, counted.
  let checks = 0
  const screen = topics.screen.bind(topics)
  topics.screen = (...args) => { checks++; return screen(...args) }
  const logs = new LogCapture()
  // Built without a logger, as the review's app did: the app gives it its own.
  const broker = new RedisBroker({ url: redis.url, topics, probeIntervalMs: 0 })
  t.teardown(() => broker.close())
  const foreign = new RedisBroker({ url: redis.url, probeIntervalMs: 0 })
  await foreign.connect()
  t.teardown(() => foreign.close())
  const app = await createApp({ env: {}, heartbeatSeconds: 3600, fastify: { logger: { level: 'warn', stream: logs } }, broker })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(SubscriptionView({ catalog: topics }), { prefix: '/events' }).plugin)
  const base = await listen(app)
  const open = async (topic: string, lastEventId?: string): Promise<OpenedStream> => {
    const stream = await openStream(base, `/events?topic=${topic}`, lastEventId === undefined ? {} : { 'last-event-id': lastEventId })
    t.teardown(() => stream.body.close())
    if (stream.status !== 200) throw new Error(`the stream answered ${stream.status}`)
    await stream.body.until('event: subscribed')
    return stream
  }
  return { broker, foreign, app, logs, open, checks: () => checks }
}

/** A stream's frames in order, without comments. */
const frames = (text: string): string[] => allFrames(text).filter((frame) => !frame.startsWith(':'))
const id = (topic: string, epoch: string, offset: number): string => soloCursor(topicSetKey([topic]), epoch, offset)
const subscribed = (topic: string, cursor: string): string => `id: ${cursor}\nevent: subscribed\ndata: {"topics":["${topic}"]}\n\n`
const event = (cursor: string, n: number): string => `id: ${cursor}\nevent: e\ndata: {"n":${n}}\n\n`

t.test('a foreign publisher\'s bad data, undeclared event and undeclared property never reach a subscriber, live or on resume', async (t) => {
  const { broker, foreign, app, logs, open, checks } = await rig(t)
  const live = [await open('cat:1'), await open('cat:1')]
  const joined = id('cat:1', '', 0)

  const p1 = await foreign.publish('cat:1', 'e', { n: 1 })
  await foreign.publish('cat:1', 'e', { n: 'x' })
  await foreign.publish('cat:1', 'zzz', { n: 2 })
  await foreign.publish('cat:1', 'e', { n: 3, password: 'secret' })
  await broker.publish('cat:1', 'e', { n: 4 })
  // A refused event last: nothing follows it for a while, and the next one's id is past it.
  await foreign.publish('cat:1', 'e', { n: 'y' })
  await until(() => broker.stats.refusedMessages === 3, 'the three refusals so far are counted')
  await foreign.publish('cat:1', 'e', { n: 7 })
  const epoch = p1.epoch
  const at = (offset: number): string => id('cat:1', epoch, offset)

  const expected = [subscribed('cat:1', joined), event(at(1), 1), event(at(4), 3), event(at(5), 4), event(at(7), 7)]
  for (const stream of live) t.same(frames(await stream.body.until('"n":7}')), expected, 'live: the valid events once, in order, the password dropped')

  // Resumes read history: the refused events are skipped there too, and the cursor moves past them.
  const fromOne = await open('cat:1', at(1))
  t.same(frames(await fromOne.body.until('"n":7}')), [subscribed('cat:1', at(1)), event(at(4), 3), event(at(5), 4), event(at(7), 7)])
  const fromFive = await open('cat:1', at(5))
  t.same(frames(await fromFive.body.until('"n":7}')), [subscribed('cat:1', at(5)), event(at(7), 7)])

  // A resume whose history ends on a refused event does not wedge on it: it goes live past it.
  await foreign.publish('cat:1', 'e', { n: 'z' })
  await until(() => broker.stats.refusedMessages === 4, 'the fourth refusal is counted')
  const fromSeven = await open('cat:1', at(7))
  await foreign.publish('cat:1', 'e', { n: 9 })
  t.same(frames(await fromSeven.body.until('"n":9}')), [subscribed('cat:1', at(7)), event(at(9), 9)])
  for (const stream of [...live, fromOne, fromFive]) {
    t.same(frames(await stream.body.until('"n":9}')).slice(-1), [event(at(9), 9)], 'every open stream gets the next event, past the refused one')
  }

  // Once per event per process: the eight foreign events were checked once each, whatever the number of
  // clients and resumes; this broker's own publish (offset 5) not at all.
  t.equal(checks(), 8)
  t.equal(broker.stats.refusedMessages, 4)
  t.equal(app.topicMetrics.refusedEvents, 0, 'no stream refused anything: the broker did, before the fan-out')
  t.match(app.topicMetrics.toPrometheus(broker.stats), /^fastify_views_broker_refused_messages_total 4$/m, 'an operator sees them')
  t.same(logs.matching((line) => line.msg === REFUSED_LOG).map(({ level, topic, event, id, offset, problem }) => ({ level, topic, event, id, offset, problem })), [
    { level: 40, topic: 'cat:1', event: 'e', id: at(2), offset: 2, problem: "event 'e' of topic 'cat:1': data/n expected integer" },
    { level: 40, topic: 'cat:1', event: 'zzz', id: at(3), offset: 3, problem: "'zzz' is not an event of topic 'cat:1' ('cat:{id}' carries e)" },
    { level: 40, topic: 'cat:1', event: 'e', id: at(6), offset: 6, problem: "event 'e' of topic 'cat:1': data/n expected integer" },
    { level: 40, topic: 'cat:1', event: 'e', id: at(8), offset: 8, problem: "event 'e' of topic 'cat:1': data/n expected integer" }
  ])
})

t.test('random interleavings of own and foreign publishes and resumes: exactly the valid events, once, in order', async (t) => {
  const { broker, foreign, open, checks } = await rig(t)
  type Step = 'own' | 'valid' | 'extra' | 'bad' | 'undeclared'
  let run = 0
  let foreignCount = 0
  let refusedCount = 0
  await fc.assert(fc.asyncProperty(
    fc.array(fc.constantFrom<Step>('own', 'valid', 'extra', 'bad', 'undeclared'), { minLength: 1, maxLength: 12 }),
    fc.nat(),
    async (steps, resumeAt) => {
      const topic = `cat:r${++run}`
      const stream = await open(topic)
      const sent: Array<{ offset: number, n: number | undefined }> = []
      let epoch = ''
      for (const [i, step] of steps.entries()) {
        const result = step === 'own'
          ? await broker.publish(topic as `cat:${string}`, 'e', { n: i })
          : step === 'valid' ? await foreign.publish(topic, 'e', { n: i })
            : step === 'extra' ? await foreign.publish(topic, 'e', { n: i, secret: 'x' })
              : step === 'bad' ? await foreign.publish(topic, 'e', { n: String(i) })
                : await foreign.publish(topic, 'other', { n: i })
        epoch = result.epoch
        if (step !== 'own') foreignCount++
        if (step === 'bad' || step === 'undeclared') refusedCount++
        sent.push({ offset: result.offset, n: step === 'bad' || step === 'undeclared' ? undefined : i })
      }
      // A last valid event marks the end of what each stream is waiting for.
      const last = await broker.publish(topic as `cat:${string}`, 'e', { n: 1000 })
      sent.push({ offset: last.offset, n: 1000 })
      const at = (offset: number): string => id(topic, epoch, offset)
      const valid = sent.filter((item) => item.n !== undefined)
      t.same(frames(await stream.body.until('"n":1000}')), [subscribed(topic, id(topic, '', 0)), ...valid.map((item) => event(at(item.offset), item.n as number))])
      stream.body.close()
      // Resume from any event a client can have got (or from the start of the topic's stream).
      const from = [0, ...valid.map((item) => item.offset)][resumeAt % (valid.length + 1)]
      const resumed = await open(topic, from === 0 ? id(topic, '', 0) : at(from))
      const rest = valid.filter((item) => item.offset > from)
      const resumedFrom = subscribed(topic, from === 0 ? id(topic, '', 0) : at(from))
      if (rest.length > 0) t.same(frames(await resumed.body.until('"n":1000}')), [resumedFrom, ...rest.map((item) => event(at(item.offset), item.n as number))])
      else t.same(frames(resumed.body.text), [resumedFrom], 'resumed from the last event: nothing to replay')
      resumed.body.close()
    }
  ), { seed: 20241201, numRuns: 12, endOnFailure: true })
  await until(() => broker.stats.refusedMessages === refusedCount, 'every refusal is counted')
  t.equal(checks(), foreignCount, 'each foreign event checked once; own publishes never')
})
