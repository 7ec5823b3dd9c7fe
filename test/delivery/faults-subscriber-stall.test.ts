/**
 * A's subscriber connection stays open but stops delivering (fault proxy) while events flow: stalled
 * (bytes held back) or black-holed (bytes dropped). Nothing closes, so only the liveness probe can tell:
 * it must find the subscriber deaf and rebuild it, /health says so meanwhile, and the rebuilt subscriber
 * catches up from history - every client on A and B gets every event once, in order, no reset.
 */
import t from 'tap'
import { http } from '../helpers/http.js'
import { until } from '../helpers/wait.js'
import { checkDelivery, faultRig, publisherLoop, settled } from '../helpers/fault-rig.js'

for (const [fault, name] of [['stall', 'stalled'], ['drop', 'black-holed']] as const) {
  t.test(`a ${name} subscriber connection is found by the probe and rebuilt; nothing lost, nothing twice`, async (t) => {
    const rig = await faultRig(t, { probeIntervalMs: 250 })
    const loop = publisherLoop(rig, rig.b, 3)
    await until(() => loop.published() >= 60, 'events flow')
    const [deaf] = rig.proxy.connections('subscriber')
    rig.proxy[fault]({ role: 'subscriber', direction: 'down' })
    let unhealthy = false
    await until(async () => {
      if ((await http(rig.a.base, 'GET', '/health')).status === 503) unhealthy = true
      return rig.proxy.connections('subscriber').every((connection) => connection.id !== deaf.id)
    }, 'the probe replaced the deaf connection', 10_000, 20)
    t.ok(unhealthy, 'A reported itself unhealthy meanwhile')
    rig.proxy.resume()
    // A dropped reply to the new connection's handshake would leave it waiting: start it afresh.
    if (fault === 'drop') rig.proxy.cut({ role: 'subscriber' })
    await until(() => rig.a.app.broker.health().ok, 'A is healthy again')
    const at = loop.published()
    await until(() => loop.published() >= at + 60, 'events flow after the rebuild')
    await loop.stop()
    await settled(rig)
    t.equal(rig.outcomes.filter((outcome) => outcome.published !== true).length, 0, 'every publish succeeded (B publishes)')
    checkDelivery(t, rig)
    t.ok(rig.a.app.broker.stats.reconnects >= 1, 'A\'s subscriber was rebuilt')
    t.equal(rig.a.app.broker.stats.eventsLost, 0)
  })
}
