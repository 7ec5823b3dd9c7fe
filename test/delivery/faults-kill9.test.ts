/**
 * Redis killed -9 mid-flight and restarted empty on the same port (no persistence), while A (through the
 * fault proxy) publishes bursts and B publishes one at a time. History was really lost, so each client
 * gets exactly one `reset` (epoch-changed) per topic; before it, old-epoch events once and in order;
 * after it, every event of the new epoch once and in order. No publish that failed arrives.
 */
import t from 'tap'
import { http } from '../helpers/http.js'
import { until } from '../helpers/wait.js'
import { checkDelivery, faultRig, publisherLoop, settled } from '../helpers/fault-rig.js'

t.test('kill -9 of Redis during bursts, then a restart: one reset per topic, the rest exact', async (t) => {
  const rig = await faultRig(t, { publishTimeoutMs: 400 })
  const bursts = publisherLoop(rig, rig.a, 10)
  const single = publisherLoop(rig, rig.b, 1)
  const flowing = () => bursts.published() + single.published()
  await until(() => flowing() >= 150, 'events flow')
  await rig.redis.kill9()
  await until(() => rig.outcomes.filter((outcome) => outcome.published === false).length >= 10, 'publishes fail while Redis is down')
  await rig.redis.restart()
  const healthy = async () => (await http(rig.a.base, 'GET', '/health')).status === 200 && (await http(rig.b.base, 'GET', '/health')).status === 200
  await until(healthy, 'both instances are healthy again')
  const at = flowing()
  await until(() => flowing() >= at + 150, 'events flow again')
  await Promise.all([bursts.stop(), single.stop()])
  await settled(rig)

  checkDelivery(t, rig, { lostHistory: true })
  for (const client of rig.clients) {
    const resets = client.reader.frames.filter((frame) => frame.event === 'reset').length
    t.equal(resets, client.topics.length, `${client.on} ${client.topics.join(',')}: one reset per topic`)
  }
  t.ok(rig.a.app.broker.stats.reconnects >= 1 && rig.b.app.broker.stats.reconnects >= 1, 'both subscribers reconnected')
})
