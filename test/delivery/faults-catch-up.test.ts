/**
 * A catch-up that fails is tried again once the backend can answer (fault proxy). A's subscriber misses
 * events (its connection is cut while B publishes) and must read them from history - but A's publisher
 * connection, which reads history, is stalled, so the catch-up fails. Publishing then stops. When the
 * publisher connection is back, the missed events must arrive without waiting for another publish
 * (on a quiet topic that could be forever).
 */
import t from 'tap'
import { sleep, until } from '../helpers/wait.js'
import { checkDelivery, faultRig, publisherLoop, settled, type Rig } from '../helpers/fault-rig.js'

/**
 * B publishes while A's subscriber connection is cut three times: the events published while A
 * reconnects are missed live, and only history has them - A must catch up.
 */
async function publishAcrossSubscriberCuts (rig: Rig): Promise<void> {
  const loop = publisherLoop(rig, rig.b, 5)
  await until(() => loop.published() >= 30, 'events flow')
  for (let i = 0; i < 3; i++) {
    rig.proxy.cut({ role: 'subscriber' })
    await sleep(100)
  }
  const at = loop.published()
  await until(() => loop.published() >= at + 30, 'events flow after the cuts')
  await loop.stop()
}

t.test('a catch-up that failed while the publisher connection was stalled is done once it is back', async (t) => {
  const rig = await faultRig(t, { publishTimeoutMs: 300 })
  rig.proxy.stall({ role: 'publisher' })
  await publishAcrossSubscriberCuts(rig)
  // Longer than a history read may take: the catch-ups have failed by now.
  await sleep(1000)
  rig.proxy.cut({ role: 'publisher' })
  rig.proxy.resume()
  await settled(rig, 10_000)
  checkDelivery(t, rig)
  t.equal(rig.outcomes.filter((outcome) => outcome.published !== true).length, 0, 'B published everything')
})

t.test('a catch-up that failed on a slow but open publisher connection is retried by itself', async (t) => {
  const rig = await faultRig(t, { publishTimeoutMs: 300 })
  // Replies to A's publisher take longer than a history read may wait: every catch-up fails, no reconnect.
  rig.proxy.delay(600, { role: 'publisher', direction: 'down' })
  await publishAcrossSubscriberCuts(rig)
  await sleep(1000)
  // The connection was never renewed: only a retry can catch up now that it is fast again.
  t.equal(rig.proxy.opened('publisher').length, 1, 'the publisher connection is the first one')
  rig.proxy.resume()
  await settled(rig, 10_000)
  checkDelivery(t, rig)
})
