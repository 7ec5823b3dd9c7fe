/**
 * Latency on A's subscriber connection while events flow (fault proxy): replies and pub/sub messages to
 * A arrive late, by an amount that changes mid-flow. Latency costs latency only: every client on A and
 * on B gets every event once, in order, no reset, and A's subscriber is never rebuilt for being slow.
 */
import t from 'tap'
import { sleep, until } from '../helpers/wait.js'
import { checkDelivery, faultRig, publisherLoop, settled } from '../helpers/fault-rig.js'

t.test('changing latency on the subscriber connection: nothing lost, nothing twice, no rebuild', async (t) => {
  const rig = await faultRig(t, { probeIntervalMs: 1000 })
  const loop = publisherLoop(rig, rig.b, 5)
  for (const ms of [150, 20, 400, 0]) {
    rig.proxy.delay(ms, { role: 'subscriber', direction: 'down' })
    const at = loop.published()
    await until(() => loop.published() >= at + 100, `100 more events with ${ms} ms latency`)
    await sleep(ms)
  }
  rig.proxy.resume()
  await loop.stop()
  await settled(rig)
  t.equal(rig.outcomes.filter((outcome) => outcome.published !== true).length, 0, 'every publish succeeded')
  checkDelivery(t, rig)
  t.equal(rig.a.app.broker.stats.reconnects, 0, 'A\'s subscriber was not rebuilt')
  t.equal(rig.a.app.broker.stats.eventsLost, 0)
})
