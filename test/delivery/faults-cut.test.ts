/**
 * Connections cut mid-burst (fault proxy): while A publishes bursts of concurrent events, its
 * connections are destroyed - the publisher's, the subscriber's, both - again and again. Publishes in
 * flight are settled (re-sent with their token, so each runs at most once); the subscriber catches up
 * after each reconnect. Every client on A and B gets every published event once, in order, no reset;
 * an event whose publish failed never arrives, one whose outcome is unknown at most once.
 */
import t from 'tap'
import { sleep, until } from '../helpers/wait.js'
import { checkDelivery, faultRig, publisherLoop, settled } from '../helpers/fault-rig.js'

t.test('cutting A\'s connections mid-burst: every published event once, in order; no duplicate from a retried publish', async (t) => {
  // A burst waiting for the connection must not pile up one 'ready' listener per publish.
  const warnings: string[] = []
  const onWarning = (warning: Error) => { warnings.push(`${warning.name}: ${warning.message}`) }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const rig = await faultRig(t, { publishTimeoutMs: 1000 })
  const loop = publisherLoop(rig, rig.a, 20)
  for (const role of ['publisher', 'subscriber', undefined, 'publisher', undefined, 'subscriber', undefined]) {
    const at = loop.published()
    await until(() => loop.published() >= at + 60, 'events flow')
    const reconnects = rig.a.app.broker.stats.reconnects
    rig.proxy.cut(role === undefined ? {} : { role })
    await sleep(30)
    // The next cut waits for this one's reconnect: two cuts within one reconnect delay are one outage.
    if (role !== 'publisher') await until(() => rig.a.app.broker.stats.reconnects > reconnects, 'the subscriber reconnected')
  }
  const at = loop.published()
  await until(() => loop.published() >= at + 60, 'events flow after the last cut')
  await loop.stop()
  await settled(rig)
  const failed = rig.outcomes.filter((outcome) => outcome.published !== true)
  t.comment(`${rig.outcomes.length} publishes, ${failed.length} not confirmed: ${[...new Set(failed.map((outcome) => outcome.error))].join(' | ')}`)
  // Redis is back within milliseconds, well inside publishTimeoutMs: a cut costs a re-send, not a failure.
  t.same(failed, [], 'every publish succeeded')
  checkDelivery(t, rig)
  // Offsets are dense per topic: a publish that ran twice would leave two offsets for one event.
  for (const topic of ['f:0', 'f:1', 'f:2']) {
    const offsets = rig.outcomes.filter((outcome) => outcome.topic === topic && outcome.published === true).map((outcome) => outcome.offset as number).sort((x, y) => x - y)
    t.equal(new Set(offsets).size, offsets.length, `${topic}: no two publishes share an offset`)
  }
  t.same(warnings, [], 'no process warnings')
  t.ok(rig.a.app.broker.stats.reconnects >= 5, `A's subscriber reconnected after each of its 5 cuts (${rig.a.app.broker.stats.reconnects})`)
})
