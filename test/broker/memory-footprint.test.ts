/**
 * Issue 11 #14: the memory broker allocated each topic's whole ring up front (~8 KB per topic at
 * historySize 1,000: 20,000 topics with one event each = 160 MB). History now grows with its events.
 */
import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { MemoryBroker } from '../../lib/index.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapUsed (): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

t.test('issue-11-14: 20,000 topics with one event each cost a few MB, not 160 MB', async (t) => {
  const broker = new MemoryBroker({ historySize: 1000 })
  await broker.connect()
  t.teardown(() => broker.close())
  const before = heapUsed()
  for (let i = 0; i < 20_000; i++) await broker.publish(`topic-${i}`, 'created', { id: i })
  const grown = heapUsed() - before
  t.comment(`20,000 topics of one event: ${(grown / 1024 / 1024).toFixed(1)} MB`)
  // Generous: a message, its log and a map entry are well under 1 KB; the up-front rings were 160 MB.
  t.ok(grown < 20 * 1024 * 1024, `${(grown / 1024 / 1024).toFixed(1)} MB < 20 MB`)
  // Every topic still resumes: its one event is in its history.
  const history = await broker.history('topic-19999', 0)
  t.same(history.messages.map((message) => [message.offset, message.json]), [[1, '{"id":19999}']])
})

t.test('a topic keeps a bounded history however many events it gets', async (t) => {
  const broker = new MemoryBroker({ historySize: 100, historyWindowSeconds: 0 })
  await broker.connect()
  t.teardown(() => broker.close())
  for (let i = 1; i <= 5000; i++) await broker.publish('busy', 'tick', i)
  t.equal(broker.historyLength('busy'), 100, 'the count caps it')
  const history = await broker.history('busy', 0)
  t.same([history.messages.length, history.messages[0].offset, history.messages[99].offset], [100, 4901, 5000], 'the newest 100, in order')
})
