/**
 * Issue 11 #1: the reconcile loop forgot topic states by name, so a stale state left in a batch deleted a
 * newer state of the same topic: its subscriber got `subscribed`, then nothing, and after it left the
 * channel stayed subscribed. The sequence of the issue, made deterministic by a backend whose
 * listen/unlisten take 20 ms and say when they start.
 */
import t from 'tap'
import { until } from '../helpers/wait.js'
import { take } from './contract.js'
import { SlowBackendBroker } from './slow-backend.js'

function nextCall (broker: SlowBackendBroker, kind: 'listen' | 'unlisten', topic: string): Promise<void> {
  return new Promise((resolve) => {
    broker.onCall = (called, topics) => {
      if (called === kind && topics.includes(topic)) { broker.onCall = undefined; resolve() }
    }
  })
}

t.test('issue-11-1: a join while a stale state of the same topic is in the batch is delivered to, and released', async (t) => {
  const broker = new SlowBackendBroker({ latencyMs: 20 })
  await broker.connect()
  t.teardown(() => broker.close())
  // Nothing else keeps the event loop alive: a lost event must fail by timeout, not by the process ending.
  const alive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(alive))

  const first = broker.subscribe(['T'])
  await take(first, 1)

  // The last subscriber of T leaves while another topic is joined in the same batch.
  const unlistening = nextCall(broker, 'unlisten', 'T')
  await first.return()
  const other = broker.subscribe(['U'])
  t.teardown(() => other.return())
  const otherOpened = take(other, 1)
  await unlistening

  // During the UNSUBSCRIBE round trip: a join and a leave of T (a page reload).
  const listeningU = nextCall(broker, 'listen', 'U')
  const reload = broker.subscribe(['T'])
  const reloadOpened = reload.next()
  await new Promise((resolve) => setImmediate(resolve))
  await reload.return()
  await reloadOpened.catch(() => {})

  // While the batch's SUBSCRIBE of U is in flight, a new client joins T.
  await listeningU
  const client = broker.subscribe(['T'])
  t.teardown(() => client.return())
  const [opened] = await take(client, 1)
  t.equal(opened.event, 'subscribed')
  await otherOpened

  await broker.publish('T', 'x', 1)
  const [event] = await take(client, 1, 5000)
  t.same([event.event, event.data, event.topic], ['x', 1, 'T'], 'the new client gets the event')
  t.ok(broker.backendListening.has('T'), 'T is listened to while it has a subscriber')

  await client.return()
  await until(() => !broker.settling, 'the reconcile loop is idle')
  t.notOk(broker.backendListening.has('T'), 'T is released once its last subscriber left')
  t.same(broker.listenedTopics(), ['U'])
})
