/**
 * The broker contract: one suite, run against every backend (as socket.io's adapters share theirs).
 * Each case checks delivery exactly: every event, in order, once.
 */
import type { Test } from 'tap'
import { Broker, type TopicEvent } from '../../lib/index.js'
import { BrokerMessage } from '../../lib/broker/message.js'
import { Subscription, type SubscriptionSink } from '../../lib/broker/subscription.js'
import { encodeCursor } from '../../lib/broker/cursor.js'

export interface BrokerFactory {
  /** A fresh broker, connected, with the given options; closed by the suite. */
  make: (options?: { historySize?: number }) => Promise<Broker>
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

async function until (check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export function brokerContract (t: Test, name: string, factory: BrokerFactory): void {
  const open = async (t: Test, options?: { historySize?: number }) => {
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
    await until(() => broker.subscriberCount('news') === 0, 'the subscription is released')
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
    await broker.publish('t', 'x', 1)
    const [one] = await take(first, 1)
    await first.return()
    const other = broker.subscribe(['u'])
    const [otherOpened] = await take(other, 1)
    await other.return()
    const [, setKey, position] = one.id.split('.')
    const ahead = encodeCursor(setKey, [{ epoch: position.split('-')[0], offset: 99 }])
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
    await until(() => broker.subscriberCount('gone') === 0, 'released')
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
    await until(() => frames.every((mine) => mine.length === 20), 'every subscriber has 20 frames')
    for (let n = 0; n < 20; n++) {
      const first = frames[0][n]
      t.ok(frames.every((mine) => mine[n] === first), `event ${n + 1}: one Buffer for all`)
    }
    t.match(frames[0][0].toString(), /^id: 1\.[0-9a-z]+\.[0-9a-z]+-1\.[0-9a-z]+\nevent: tick\ndata: \{"n":1\}\n\n$/)
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
    await until(() => broker.listenedTopics().length === 0, 'no topic is listened to')
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
