/**
 * The reconcile loop under every order of backend replies: fast-check's scheduler decides when each
 * listen/unlisten completes relative to random joins and leaves of four subscribers on three topics
 * (issue 11 #1 was one such order). Once everything settled: a topic is listened to exactly when it has
 * local subscribers - in the broker and in the backend - and every joined subscriber gets the next event of
 * each of its topics, once.
 */
import t from 'tap'
import fc from 'fast-check'
import { MemoryBroker, type BrokerMessage } from '../../lib/index.js'
import type { TopicState, TopicSubscriber } from '../../lib/broker/contract.js'

const TOPICS = ['a', 'b', 'c']

class ScheduledBroker extends MemoryBroker {
  readonly backendListening = new Set<string>()
  constructor (private readonly scheduler: fc.Scheduler) { super({}) }
  protected override async listen (topics: string[]): Promise<void> {
    await this.scheduler.schedule(Promise.resolve(), `listen ${topics.join(',')}`)
    for (const topic of topics) this.backendListening.add(topic)
  }

  protected override async unlisten (topics: string[]): Promise<void> {
    for (const topic of topics) this.backendListening.delete(topic)
    await this.scheduler.schedule(Promise.resolve(), `unlisten ${topics.join(',')}`)
  }

  protected override receive (message: BrokerMessage): void {
    if (this.backendListening.has(message.topic)) super.receive(message)
  }

  get settling (): boolean { return (this as unknown as { reconciling: unknown }).reconciling !== undefined }
}

class Probe implements TopicSubscriber {
  readonly joined = new Set<string>()
  readonly got: string[] = []
  begin (_state: TopicState): void {}
  deliver (message: BrokerMessage): void { this.got.push(`${message.topic}#${message.offset}`) }
  lost (state: TopicState, reason: string): void { this.got.push(`lost ${state.topic} ${reason}`) }
}

const operation = fc.record({ subscriber: fc.integer({ min: 0, max: 3 }), topic: fc.constantFrom(...TOPICS) })

/** Runs the scheduler and the event loop until the broker is quiet. */
async function settle (s: fc.Scheduler, broker: ScheduledBroker): Promise<void> {
  // One scheduled step at a time, each followed by a real turn of the event loop (the reconcile loop
  // batches a tick's changes): joins and leaves land between, and inside, the loop's batches.
  for (let turn = 0; turn < 10_000 && (s.count() > 0 || broker.settling); turn++) {
    if (s.count() > 0) await s.waitOne()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Checked after every round: a later join or leave of a topic would otherwise heal (and hide) a fault. */
async function check (broker: ScheduledBroker, probes: Probe[], round: number): Promise<void> {
  const wanted = TOPICS.filter((topic) => probes.some((probe) => probe.joined.has(topic)))
  if (JSON.stringify(broker.listenedTopics().sort()) !== JSON.stringify(wanted)) throw new Error(`round ${round}: broker listens to ${broker.listenedTopics()}, wanted ${wanted}`)
  if (JSON.stringify([...broker.backendListening].sort()) !== JSON.stringify(wanted)) throw new Error(`round ${round}: backend listens to ${[...broker.backendListening]}, wanted ${wanted}`)
  for (const topic of TOPICS) {
    const count = probes.filter((probe) => probe.joined.has(topic)).length
    if (broker.subscriberCount(topic) !== count) throw new Error(`round ${round}: ${topic} has ${broker.subscriberCount(topic)} subscribers, wanted ${count}`)
  }
  for (const probe of probes) probe.got.length = 0
  const offsets = new Map<string, number>()
  for (const topic of TOPICS) offsets.set(topic, (await broker.publish(topic, 'x', round)).offset)
  probes.forEach((probe, i) => {
    const want = TOPICS.filter((topic) => probe.joined.has(topic)).map((topic) => `${topic}#${offsets.get(topic) as number}`)
    if (JSON.stringify(probe.got) !== JSON.stringify(want)) throw new Error(`round ${round}: subscriber ${i} got ${JSON.stringify(probe.got)}, wanted ${JSON.stringify(want)}`)
  })
}

t.test('issue-11-1: joins and leaves under any order of backend replies leave no topic listened without subscribers, and none deaf', async () => {
  const rounds = fc.array(fc.array(operation, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 })
  await fc.assert(fc.asyncProperty(fc.scheduler(), rounds, async (s, schedule) => {
    const broker = new ScheduledBroker(s)
    await broker.connect()
    const probes = [0, 1, 2, 3].map(() => new Probe())
    try {
      for (let round = 0; round < schedule.length; round++) {
        // Each join or leave runs when the scheduler lets it: interleaved with the backend's replies.
        for (const { subscriber, topic } of schedule[round]) {
          void s.schedule(Promise.resolve(), `toggle ${subscriber} ${topic}`).then(() => {
            const probe = probes[subscriber]
            if (probe.joined.has(topic)) {
              probe.joined.delete(topic)
              broker.leave(probe, [topic])
            } else {
              probe.joined.add(topic)
              broker.join(probe, [topic]).catch(() => {})
            }
          })
        }
        await settle(s, broker)
        await check(broker, probes, round)
      }
    } finally {
      await broker.close()
    }
  }), { seed: 1101, numRuns: 300 })
})
