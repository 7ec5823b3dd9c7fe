/**
 * The broker contract: one suite, run against every backend (as socket.io's adapters share theirs).
 * Each case checks delivery exactly: every event, in order, once.
 */
import type { Test } from 'tap'
import { Broker, type TopicEvent } from '../../lib/index.js'
import { BrokerMessage } from '../../lib/broker/message.js'
import { Subscription, type SubscriptionSink } from '../../lib/broker/subscription.js'
import { encodeCursor, sealCursor, topicSetKey } from '../../lib/broker/cursor.js'
import { until } from '../helpers/wait.js'

export interface BrokerFactory {
  /** A fresh broker, connected, with the given options; closed by the suite. */
  make: (options?: { historySize?: number, historyBytes?: number, historyWindowSeconds?: number }) => Promise<Broker>
  /** Makes the topic lose its history and offsets (a Redis restart without persistence, an expiry). */
  forget: (broker: Broker, topic: string) => Promise<void>
}

/** Reads `count` items from an iterator, with a bound so a broken broker fails the test instead of hanging. */
export async function take (iterator: AsyncIterator<TopicEvent>, count: number, timeoutMs = 5000): Promise<TopicEvent[]> {
  const out: TopicEvent[] = []
  const deadline = Date.now() + timeoutMs
  while (out.length < count) {
    const next = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now())).unref())
    ])
    if (next === 'timeout') throw new Error(`timed out after ${out.length} of ${count} items: ${JSON.stringify(out)}`)
    if (next.done === true) throw new Error(`iterator ended after ${out.length} of ${count} items`)
    out.push(next.value)
  }
  return out
}

const published = (events: TopicEvent[]) => events.map((event) => [event.event, event.data])

export function brokerContract (t: Test, name: string, factory: BrokerFactory): void {
  const open = async (t: Test, options?: { historySize?: number, historyBytes?: number, historyWindowSeconds?: number }) => {
    const broker = await factory.make(options)
    t.teardown(() => broker.close())
    return broker
  }

  t.test(`${name}: offsets are dense per topic and start at 1`, async (t) => {
    const broker = await open(t)
    const a1 = await broker.publish('a', 'x', 1)
    const a2 = await broker.publish('a', 'x', 2)
    const b1 = await broker.publish('b', 'x', 3)
    t.same([a1.offset, a2.offset, b1.offset], [1, 2, 1])
    t.equal(a1.epoch, a2.epoch)
    t.match(a1.epoch, /^[0-9a-z]{1,16}$/)
    t.same([a1.topic, b1.topic], ['a', 'b'])
  })

  t.test(`${name}: a subscription opens with 'subscribed', then every event in order with its cursor`, async (t) => {
    const broker = await open(t)
    await broker.publish('news', 'old', { n: 0 })
    const controller = new AbortController()
    const events = broker.subscribe(['news'], { signal: controller.signal })
    const [opened] = await take(events, 1)
    t.same([opened.event, opened.data], ['subscribed', { topics: ['news'] }])
    for (let n = 1; n <= 50; n++) await broker.publish('news', 'story', { n })
    const got = await take(events, 50)
    t.same(published(got), Array.from({ length: 50 }, (_, i) => ['story', { n: i + 1 }]))
    t.same(new Set(got.map((event) => event.id)).size, 50, 'each event has its own cursor')
    t.ok(got.every((event) => event.topic === 'news'))
    controller.abort()
    t.same(await events.next(), { value: undefined, done: true }, 'aborting ends the iteration')
    await until(() => broker.subscriberCount('news') === 0, 'the subscription is released', 5_000, 5)
  })

  t.test(`${name}: a client that comes back with its cursor gets exactly what it missed, then live`, async (t) => {
    const broker = await open(t)
    const first = broker.subscribe(['tasks'])
    await take(first, 1)
    await broker.publish('tasks', 'created', { id: 1 })
    await broker.publish('tasks', 'created', { id: 2 })
    const seen = await take(first, 2)
    await first.return()
    for (let id = 3; id <= 6; id++) await broker.publish('tasks', 'created', { id })
    const again = broker.subscribe(['tasks'], { lastEventId: seen[1].id })
    t.teardown(() => again.return())
    const resumed = await take(again, 5)
    t.same([resumed[0].event, resumed[0].id], ['subscribed', seen[1].id], 'it opens at the cursor it sent')
    t.same(published(resumed.slice(1)), [3, 4, 5, 6].map((id) => ['created', { id }]))
    await broker.publish('tasks', 'created', { id: 7 })
    t.same(published(await take(again, 1)), [['created', { id: 7 }]])
  })

  t.test(`${name}: a cursor of the 'subscribed' event resumes too (a client that saw no event yet)`, async (t) => {
    const broker = await open(t)
    const first = broker.subscribe(['quiet'])
    const [opened] = await take(first, 1)
    await first.return()
    await broker.publish('quiet', 'first', 1)
    const again = broker.subscribe(['quiet'], { lastEventId: opened.id })
    t.teardown(() => again.return())
    t.same(published(await take(again, 2)), [['subscribed', { topics: ['quiet'] }], ['first', 1]])
  })

  t.test(`${name}: a cursor over several topics keeps one position per topic`, async (t) => {
    const broker = await open(t)
    const first = broker.subscribe(['b', 'a'])
    await take(first, 1)
    await broker.publish('a', 'x', 'a1')
    await broker.publish('b', 'x', 'b1')
    const seen = await take(first, 2)
    await first.return()
    await broker.publish('b', 'x', 'b2')
    await broker.publish('a', 'x', 'a2')
    await broker.publish('a', 'x', 'a3')
    // Same set, other order: the cursor names the set, not the order.
    const again = broker.subscribe(['a', 'b'], { lastEventId: seen[1].id })
    t.teardown(() => again.return())
    const resumed = await take(again, 4)
    // Each topic in its own order; across topics, publish time (equal within a millisecond) decides.
    t.same(resumed.slice(1).filter((event) => event.topic === 'a').map((event) => event.data), ['a2', 'a3'])
    t.same(resumed.slice(1).filter((event) => event.topic === 'b').map((event) => event.data), ['b2'])
  })

  t.test(`${name}: a cursor that cannot be honoured gives one reset, then live`, async (t) => {
    const broker = await open(t, { historySize: 3 })
    const first = broker.subscribe(['t'])
    await take(first, 1)
    const { epoch } = await broker.publish('t', 'x', 1)
    const [one] = await take(first, 1)
    await first.return()
    const other = broker.subscribe(['u'])
    const [otherOpened] = await take(other, 1)
    await other.return()
    const [version, setKey] = one.id.split('.')
    t.equal(version, '2', 'cursors are of version 2')
    const ahead = encodeCursor(setKey, [{ epoch, offset: 99 }])
    const cases: Array<[string, string]> = [
      ['garbage', 'malformed'],
      ['x'.repeat(5000), 'malformed'],
      [one.id.slice(0, -1) + (one.id.endsWith('0') ? '1' : '0'), 'malformed'],
      [ahead, 'invalid-offset'],
      [otherOpened.id, 'topics-changed']
    ]
    for (const [cursor, reason] of cases) {
      const events = broker.subscribe(['t'], { lastEventId: cursor })
      const [reset] = await take(events, 1)
      await events.return()
      t.same([reset.event, reset.data], ['reset', { reason, topics: ['t'] }], `${cursor.slice(0, 40)} -> ${reason}`)
    }
    // History trimmed past the cursor: 3 kept, 5 published since.
    for (let n = 2; n <= 6; n++) await broker.publish('t', 'x', n)
    const late = broker.subscribe(['t'], { lastEventId: one.id })
    t.teardown(() => late.return())
    const [reset] = await take(late, 1)
    t.same([reset.event, reset.data], ['reset', { reason: 'history-trimmed', topics: ['t'] }])
    await broker.publish('t', 'x', 7)
    t.same(published(await take(late, 1)), [['x', 7]], 'then live')
    // The reset's cursor is current: resuming from it misses nothing.
    const after = broker.subscribe(['t'], { lastEventId: reset.id })
    t.teardown(() => after.return())
    t.same(published(await take(after, 2)), [['subscribed', { topics: ['t'] }], ['x', 7]])
  })

  t.test(`${name}: a topic whose history was lost resets cursors of the old epoch`, async (t) => {
    const broker = await open(t)
    const first = broker.subscribe(['gone'])
    await take(first, 1)
    await broker.publish('gone', 'x', 1)
    const [one] = await take(first, 1)
    await first.return()
    await until(() => broker.subscriberCount('gone') === 0, 'released', 5_000, 5)
    await factory.forget(broker, 'gone')
    await broker.publish('gone', 'x', 'new epoch')
    const again = broker.subscribe(['gone'], { lastEventId: one.id })
    t.teardown(() => again.return())
    const [reset] = await take(again, 1)
    t.same([reset.event, reset.data], ['reset', { reason: 'epoch-changed', topics: ['gone'] }])
  })

  t.test(`${name}: fan-out frames an event once and gives every subscriber the same bytes`, async (t) => {
    const broker = await open(t)
    const frames: Buffer[][] = []
    const subscriptions: Subscription[] = []
    for (let i = 0; i < 100; i++) {
      const mine: Buffer[] = []
      frames.push(mine)
      const sink: SubscriptionSink = {
        event: (message: BrokerMessage, subscription) => { mine.push(message.soloFrame(subscription.setKey).frame) },
        control: () => {},
        overflow: () => { throw new Error('overflow') }
      }
      const subscription = new Subscription(broker, ['wide'], sink)
      await subscription.join()
      await subscription.start()
      subscriptions.push(subscription)
    }
    t.teardown(() => { for (const subscription of subscriptions) subscription.close() })
    for (let n = 1; n <= 20; n++) await broker.publish('wide', 'tick', { n })
    await until(() => frames.every((mine) => mine.length === 20), 'every subscriber has 20 frames', 5_000, 5)
    for (let n = 0; n < 20; n++) {
      const first = frames[0][n]
      t.ok(frames.every((mine) => mine[n] === first), `event ${n + 1}: one Buffer for all`)
    }
    t.match(frames[0][0].toString(), /^id: 2\.[0-9a-z]+\.[0-9a-z]+\.1\.[0-9a-z]+\nevent: tick\ndata: \{"n":1\}\n\n$/)
  })

  t.test(`${name}: joins racing leaves never lose the subscription`, async (t) => {
    const broker = await open(t)
    for (let round = 0; round < 20; round++) {
      const quick = broker.subscribe(['race'])
      const opened = take(quick, 1)
      await quick.return()
      await opened.catch(() => {})
    }
    const last = broker.subscribe(['race'])
    t.teardown(() => last.return())
    await take(last, 1)
    await broker.publish('race', 'x', 1)
    t.same(published(await take(last, 1)), [['x', 1]])
    t.equal(broker.subscriberCount('race'), 1)
    await last.return()
    await until(() => broker.listenedTopics().length === 0, 'no topic is listened to', 5_000, 5)
  })

  t.test(`${name}: issue-11-18: one publish to several topics reaches a subscriber of several of them once, live and on resume`, async (t) => {
    const broker = await open(t)
    const both = broker.subscribe(['tasks', 'task:7'])
    const onlyOne = broker.subscribe(['task:7'])
    t.teardown(() => onlyOne.return())
    await take(both, 1)
    await take(onlyOne, 1)
    const copies = await broker.publish(['tasks', 'task:7'], 'updated', { id: 7, n: 1 })
    t.same(copies.map((copy) => [copy.topic, copy.offset]), [['tasks', 1], ['task:7', 1]], 'one copy per topic, each with its own offset')
    await broker.publish('tasks', 'created', { id: 8, n: 2 })
    await broker.publish(['task:7', 'tasks'], 'updated', { id: 7, n: 3 })
    await broker.publish('task:7', 'commented', { id: 7, n: 4 })
    const live = await take(both, 4)
    t.same(live.map((event) => [event.event, (event.data as { n: number }).n, event.topic]),
      [['updated', 1, 'tasks'], ['created', 2, 'tasks'], ['updated', 3, 'task:7'], ['commented', 4, 'task:7']],
      'each publish once, through the first of its topics the subscription has')
    t.same((await take(onlyOne, 3)).map((event) => (event.data as { n: number }).n), [1, 3, 4], 'a subscriber of one topic gets every copy of it')
    // Nothing more arrives: a fifth publish is the next item.
    await broker.publish('tasks', 'created', { id: 9, n: 5 })
    t.same((await take(both, 1)).map((event) => (event.data as { n: number }).n), [5], 'no duplicate followed')
    await both.return()

    // Resume from before all of them: the replay applies the same rule.
    const resumed = broker.subscribe(['task:7', 'tasks'], { lastEventId: live[0].id })
    t.teardown(() => resumed.return())
    const replay = await take(resumed, 5)
    t.equal(replay[0].event, 'subscribed')
    t.same(replay.slice(1).map((event) => (event.data as { n: number }).n), [2, 3, 4, 5], 'the replay has each publish once')
    await broker.publish(['tasks', 'task:7'], 'updated', { id: 7, n: 6 })
    t.same((await take(resumed, 1)).map((event) => (event.data as { n: number }).n), [6], 'then live, once')
    await broker.publish('tasks', 'created', { n: 7 })
    t.same((await take(resumed, 1)).map((event) => (event.data as { n: number }).n), [7], 'and no duplicate of 6')
  })

  t.test(`${name}: issue-11-4: history keeps every event of the window and, of older ones, the newest historyBytes; the count caps it`, async (t) => {
    // Each event costs 64 + 'x' + '"000"' = 70 bytes of history.
    const broker = await open(t, { historyBytes: 5 * 70, historyWindowSeconds: 10, historySize: 1000 })
    let clock = 1_000_000
    ;(broker as unknown as { publishTime: () => number }).publishTime = () => ++clock
    const offsets = async (topic: string) => (await broker.history(topic, 0)).messages.map((message) => message.offset)
    for (let n = 1; n <= 20; n++) await broker.publish('kept', 'x', String(n).padStart(3, '0'))
    t.same(await offsets('kept'), Array.from({ length: 20 }, (_, i) => i + 1), 'all 20 are within the window: all kept, beyond historyBytes')
    clock += 20_000
    await broker.publish('kept', 'x', '021')
    t.same(await offsets('kept'), [16, 17, 18, 19, 20, 21], 'once they are older than the window: the newest 350 bytes of them, and the new one')
    for (let n = 22; n <= 30; n++) await broker.publish('kept', 'x', String(n).padStart(3, '0'))
    t.same(await offsets('kept'), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30], 'the new ones are within the window again')

    const capped = await open(t, { historyBytes: 1000 * 70, historyWindowSeconds: 10, historySize: 3 })
    for (let n = 1; n <= 10; n++) await capped.publish('capped', 'x', String(n).padStart(3, '0'))
    t.same((await capped.history('capped', 0)).messages.map((message) => message.offset), [8, 9, 10], 'historySize caps the count, window or not')
    const paged = await broker.history('kept', 15, 4)
    t.same(paged.messages.map((message) => message.offset), [16, 17, 18, 19], 'history reads are paged by their limit')
  })

  t.test(`${name}: issue-11-5: a version-1 cursor (an epoch per topic) still resumes exactly`, async (t) => {
    const broker = await open(t)
    const first = broker.subscribe(['v1b', 'v1a'])
    await take(first, 1)
    const a = await broker.publish('v1a', 'x', 1)
    const b = await broker.publish('v1b', 'x', 2)
    await take(first, 2)
    await first.return()
    await broker.publish('v1a', 'x', 3)
    await broker.publish('v1b', 'x', 4)
    // 1.<set>.<epoch>-<offset>... in sorted-topic order, as clients of the previous version hold them.
    const old = sealCursor(`1.${topicSetKey(['v1a', 'v1b'])}.${a.epoch}-1.${b.epoch}-1`)
    const again = broker.subscribe(['v1a', 'v1b'], { lastEventId: old })
    t.teardown(() => again.return())
    const resumed = await take(again, 3)
    t.same(resumed.map((event) => [event.event, event.data]), [['subscribed', { topics: ['v1a', 'v1b'] }], ['x', 3], ['x', 4]])
    t.match(resumed[0].id, /^2\./, 'answered with a version-2 cursor')
  })

  t.test(`${name}: publishing refuses bad topics and event names, and everything once closed`, async (t) => {
    const broker = await open(t)
    await t.rejects(broker.publish('', 'x', 1), { code: 'FVIEWS_ERR_TOPIC_INVALID', message: "Invalid topic: '': empty" })
    await t.rejects(broker.publish('a b', 'x', 1), { code: 'FVIEWS_ERR_TOPIC_INVALID', message: "Invalid topic: 'a b': contains whitespace" })
    await t.rejects(broker.publish('a', 'x\ny', 1), { code: 'FVIEWS_ERR_SSE_INVALID_FIELD' })
    t.throws(() => broker.subscribe([]), { code: 'FVIEWS_ERR_TOPIC_INVALID' })
    await broker.close()
    await t.rejects(broker.publish('a', 'x', 1), { code: 'FVIEWS_ERR_BROKER_CLOSED', statusCode: 503 })
  })
}
