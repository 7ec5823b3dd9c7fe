/**
 * issue 11 #17: topic names. Control characters (C1 included), invisible formatting characters, lone
 * surrogates and braces are refused - through a SubscriptionView (400 problem) and through broker.publish and
 * broker.subscribe (FVIEWS_ERR_TOPIC_INVALID) - and an error never echoes an unprintable character back.
 * On a real 3-master Redis Cluster no accepted name can split a topic's keys and channel across slots.
 */
import t from 'tap'
import fc from 'fast-check'
import { createApp, MemoryBroker, SubscriptionView, topicProblem, ViewRouter } from '../../lib/index.js'
import { RedisBroker } from '../../lib/redis.js'
import { printableTopic } from '../../lib/broker/topic-names.js'
import { request } from 'undici'
import { listen } from '../helpers/http.js'
import { startRedisCluster } from '../helpers/redis-server.js'

const PROBLEM = 'application/problem+json; charset=utf-8'
const CONTROL = 'contains a control character'
const FORMAT = 'contains an invisible formatting character (bidi control, zero-width character, soft hyphen)'
const BRACE = 'contains a brace (braces choose Redis Cluster slots)'
const ESCAPE = 'The query string has a malformed percent-encoding: escape topic names with encodeURIComponent'

t.test('a SubscriptionView refuses problematic names with a 400 problem that shows them escaped', async (t) => {
  const app = await createApp({ env: {}, fastify: { logger: false } })
  t.teardown(() => app.close())
  await app.register(new ViewRouter().registerView(SubscriptionView(), { prefix: '/events' }).plugin)
  const base = await listen(app)
  const cases: Array<[string, string]> = [
    ['a%01b', `Invalid topic 'a\\u0001b': ${CONTROL}`],
    ['a%C2%85b', `Invalid topic 'a\\u0085b': ${CONTROL}`], // NEL, C1
    ['%C2%9B31m', `Invalid topic '\\u009b31m': ${CONTROL}`], // CSI: a terminal escape in one character
    ['a%C2%9Fb', `Invalid topic 'a\\u009fb': ${CONTROL}`],
    ['a%E2%80%A8b', "Invalid topic 'a\\u2028b': contains whitespace"], // LINE SEPARATOR
    ['a%E2%80%A9b', "Invalid topic 'a\\u2029b': contains whitespace"], // PARAGRAPH SEPARATOR
    ['a%EF%BB%BFb', "Invalid topic 'a\\ufeffb': contains whitespace"], // BOM / zero-width no-break space
    ['admin%E2%80%AEtxt', `Invalid topic 'admin\\u202etxt': ${FORMAT}`], // RIGHT-TO-LEFT OVERRIDE
    ['a%E2%81%A6b', `Invalid topic 'a\\u2066b': ${FORMAT}`], // LEFT-TO-RIGHT ISOLATE
    ['ta%E2%80%8Bsks', `Invalid topic 'ta\\u200bsks': ${FORMAT}`], // ZERO WIDTH SPACE: looks like 'tasks'
    ['a%C2%ADb', `Invalid topic 'a\\u00adb': ${FORMAT}`], // SOFT HYPHEN
    ['%7Dtasks', `Invalid topic '}tasks': ${BRACE}`], // its keys and channel would land in different slots
    ['%7Bslot%7Dtasks', `Invalid topic '{slot}tasks': ${BRACE}`], // would choose its own slot
    // The query parser kept a bad escape as text and decoded an escaped lone surrogate: a topic nobody named.
    ['%zz', ESCAPE],
    ['tasks,a%2', ESCAPE],
    ['%ED%A0%80', ESCAPE]
  ]
  for (const [topic, detail] of cases) {
    const res = await request(`${base}/events?topic=${topic}`)
    // An accepted name opens a stream that never ends: read only what a refusal sends.
    const text = res.statusCode === 200 ? (res.body.destroy(), '') : await res.body.text()
    t.equal(res.statusCode, 400, topic)
    t.equal(res.headers['content-type'], PROBLEM, topic)
    if (res.statusCode !== 400) continue
    t.same(JSON.parse(text), { type: 'about:blank', title: 'Bad Request', status: 400, detail, instance: '/events', code: 'FVIEWS_ERR_TOPIC_INVALID' }, topic)
    // eslint-disable-next-line no-control-regex -- no control or format character may come back, escaped or not
    t.notMatch(text, /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\u00ad]/u, `${topic}: nothing unprintable echoed`)
  }
})

t.test('broker.publish and broker.subscribe refuse them with FVIEWS_ERR_TOPIC_INVALID; ordinary Unicode names work', async (t) => {
  const broker = new MemoryBroker()
  t.teardown(() => broker.close())
  const refused: Array<[string, string]> = [
    ['a\u0085b', `Invalid topic: 'a\\u0085b': ${CONTROL}`],
    ['\u009b', `Invalid topic: '\\u009b': ${CONTROL}`],
    ['x\ud800', "Invalid topic: 'x\\ud800': contains a lone UTF-16 surrogate (not valid Unicode text)"],
    ['\udc00x', "Invalid topic: '\\udc00x': contains a lone UTF-16 surrogate (not valid Unicode text)"],
    ['a\u202eb', `Invalid topic: 'a\\u202eb': ${FORMAT}`],
    ['a\u{e0001}b', `Invalid topic: 'a\\u{e0001}b': ${FORMAT}`], // LANGUAGE TAG, beyond the BMP
    ['}x', `Invalid topic: '}x': ${BRACE}`],
    ['x{y}', `Invalid topic: 'x{y}': ${BRACE}`]
  ]
  for (const [topic, message] of refused) {
    await t.rejects(broker.publish(topic, 'x', 1), { code: 'FVIEWS_ERR_TOPIC_INVALID', statusCode: 400, message }, JSON.stringify(topic))
    t.throws(() => broker.subscribe([topic]), { code: 'FVIEWS_ERR_TOPIC_INVALID', message }, JSON.stringify(topic))
  }
  for (const topic of ['tâche:7', 'задачи', '任务', 'rocket-🚀', 'a/b.c_d-e:f@g#h']) {
    t.equal(topicProblem(topic), undefined, topic)
    await broker.publish(topic, 'x', 1)
  }
})

t.test('printableTopic escapes what it must, keeps pairs whole and bounds the length', async (t) => {
  t.equal(printableTopic('plain name'), 'plain name')
  t.equal(printableTopic('a\tb\u00a0c'), 'a\\u0009b\\u00a0c')
  t.equal(printableTopic('🚀'), '🚀')
  t.equal(printableTopic('x'.repeat(63) + '🚀'), 'x'.repeat(63), 'a pair cut at 64 units is dropped, not shown half')
  t.equal(printableTopic('y'.repeat(100)), 'y'.repeat(64))
})

t.test('for any string: printableTopic shows nothing unprintable, and topicProblem refuses every unprintable, brace or comma', async (t) => {
  const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}]|[^\S ]/u
  // Whole code points, and single UTF-16 units (lone surrogates among them).
  const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 80 }))
  fc.assert(fc.property(anyText, (text) => {
    const shown = printableTopic(text)
    if (UNSAFE.test(shown)) throw new Error(`printableTopic(${JSON.stringify(text)}) = ${JSON.stringify(shown)}`)
    if (text.length > 0 && text.length <= 256 && topicProblem(text) === undefined && (UNSAFE.test(text) || /[{},\s]/.test(text))) {
      throw new Error(`accepted ${JSON.stringify(text)}`)
    }
  }), { seed: 1117, numRuns: 2000 })
  t.pass('2,000 random strings, every UTF-16 unit possible')
})

t.test('on a real 3-master Redis Cluster no accepted name produces CROSSSLOT', async (t) => {
  const cluster = await startRedisCluster({ masters: 3, t })
  const broker = new RedisBroker({ cluster: cluster.startupNodes, topicPrefix: 'names:' })
  await broker.connect()
  t.teardown(() => broker.close())
  // Names built from the characters that matter: braces, separators, letters, C1 controls, format characters.
  const unit = fc.constantFrom('{', '}', ':', '.', 'a', 'b', 'Z', '7', 'é', '🚀', '\u0085', '\u202e', '\u200b', '-', '_')
  let accepted = 0
  await fc.assert(fc.asyncProperty(fc.array(unit, { minLength: 1, maxLength: 12 }).map((units) => units.join('')), async (topic) => {
    if (topicProblem(topic) !== undefined) {
      await t.rejects(broker.publish(topic, 'x', 1), { code: 'FVIEWS_ERR_TOPIC_INVALID' })
      return
    }
    accepted++
    const result = await broker.publish(topic, 'x', { topic })
    t.ok(result !== undefined, `published to ${JSON.stringify(topic)}`)
  }), { seed: 1117, numRuns: 300 })
  t.ok(accepted > 20, `enough accepted names were tried (${accepted})`)
})
