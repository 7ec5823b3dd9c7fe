/**
 * Issue 11 #7: resuming on an instance whose local head is behind the cursor (its subscriber is busy)
 * gave `invalid-offset`, then events the client already had. Two brokers on one real Redis; the second
 * holds back what its subscriber receives, as a busy event loop does.
 */
import t from 'tap'
import type { BrokerMessage } from '../../lib/index.js'
import { RedisBroker } from '../../lib/redis.js'
import { startRedis } from '../helpers/redis-server.js'
import { take } from './contract.js'

const redis = await startRedis({ t })

class LaggingRedisBroker extends RedisBroker {
  holding = false
  private readonly heldBack: BrokerMessage[] = []
  protected override receive (message: BrokerMessage): void {
    if (this.holding) this.heldBack.push(message)
    else super.receive(message)
  }

  stopLagging (): void {
    this.holding = false
    for (const message of this.heldBack.splice(0)) super.receive(message)
  }
}

const numbers = (events: Array<{ data: unknown }>) => events.map((event) => (event.data as { n: number }).n)

for (const topics of [['orders'], ['orders', 'refunds']]) {
  t.test(`issue-11-7: a cursor ahead of a lagging instance resumes there exactly (${topics.join('+')})`, async (t) => {
    const options = { url: redis.url, topicPrefix: `lag-${topics.length}:`, probeIntervalMs: 0 }
    const fast = new RedisBroker(options)
    const slow = new LaggingRedisBroker(options)
    await Promise.all([fast.connect(), slow.connect()])
    t.teardown(() => Promise.all([fast.close(), slow.close()]))

    // The slow instance already listens to the topics (another client of it), so its state is live.
    const other = slow.subscribe(topics)
    t.teardown(() => other.return())
    await take(other, 1)
    const client = fast.subscribe(topics)
    await take(client, 1)
    for (let n = 1; n <= 2; n++) await fast.publish(topics, 'note', { n })
    await take(other, 2)

    slow.holding = true
    for (let n = 3; n <= 5; n++) await fast.publish(topics[n % topics.length], 'note', { n })
    const seen = await take(client, 5)
    t.same(numbers(seen), [1, 2, 3, 4, 5])
    await client.return()

    const resumed = slow.subscribe(topics, { lastEventId: seen[4].id })
    t.teardown(() => resumed.return())
    const [opened] = await take(resumed, 1)
    t.same([opened.event, opened.id], ['subscribed', seen[4].id], 'it resumes at its cursor: no invalid-offset reset')
    slow.stopLagging()
    await fast.publish(topics, 'note', { n: 6 })
    t.same(numbers(await take(resumed, 1)), [6], 'the next event is the first it had not seen: no duplicate of 3-5')
    t.same(numbers(await take(other, 4)), [3, 4, 5, 6], 'the lagging instance itself lost nothing')
  })
}
