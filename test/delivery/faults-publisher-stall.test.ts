/**
 * A's publisher connection stalls (fault proxy: its commands stop on the way to Redis, the connection
 * stays open) while A publishes bursts. A short stall makes publishes late, not failed: they run when the
 * bytes flow again and the callers get success. A stall longer than the settling window makes the broker
 * renew the connection and fence the publishes in flight: they are reported `published: false` and never
 * arrive. Either way every client on A and B gets every published event once, in order, no reset.
 */
import t from 'tap'
import { sleep, until } from '../helpers/wait.js'
import { checkDelivery, faultRig, publisherLoop, settled } from '../helpers/fault-rig.js'

const TIMEOUT = 700

t.test('publisher stalls, short and long: late publishes succeed, fenced ones never arrive, the rest once each', async (t) => {
  const rig = await faultRig(t, { publishTimeoutMs: TIMEOUT })
  const loop = publisherLoop(rig, rig.a, 10)
  await until(() => loop.published() >= 50, 'events flow')

  // Short: well inside publishTimeoutMs.
  rig.proxy.stall({ role: 'publisher', direction: 'up' })
  await sleep(TIMEOUT / 2)
  rig.proxy.resume()
  let at = loop.published()
  await until(() => loop.published() >= at + 50, 'events flow after the short stall')
  t.same(rig.outcomes.filter((outcome) => outcome.published === false || outcome.published === 'unknown').map((outcome) => outcome.error), [], 'the short stall failed nothing')

  // Long: until the broker gave up on the connection and opened another.
  const [stalled] = rig.proxy.connections('publisher')
  rig.proxy.stall({ role: 'publisher', direction: 'up' })
  await until(() => rig.proxy.connections('publisher').every((connection) => connection.id !== stalled.id), 'the stalled publisher connection was renewed', 10_000)
  rig.proxy.resume()
  at = loop.published()
  await until(() => loop.published() >= at + 50, 'events flow after the long stall')
  await loop.stop()
  await settled(rig)

  const fenced = rig.outcomes.filter((outcome) => outcome.published === false)
  const unknown = rig.outcomes.filter((outcome) => outcome.published === 'unknown')
  t.ok(fenced.length >= 1, `the publishes stalled past the window were fenced (${fenced.length})`)
  t.same(unknown, [], 'none was left unknown: the renewed connection settled them')
  t.ok(fenced.every((outcome) => outcome.error?.endsWith(`failed: Redis did not answer within ${2 * TIMEOUT} ms; the event was not published`)), 'each says it was not published')
  checkDelivery(t, rig)
})
