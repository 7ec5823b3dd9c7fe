/**
 * Issue 14 #2: a run of one topic's events accepted in one turn reaches a subscriber of that topic alone
 * in one call, as one joined Buffer of the shared frames - built once for every such subscriber, and for a
 * subscriber that already had the first events (it began at a later head), only the rest.
 */
import t from 'tap'
import { BrokerMessage, MessageRun } from '../../lib/broker/message.js'
import { topicSetKey } from '../../lib/broker/cursor.js'

const setKey = topicSetKey(['news'])
const messages = [1, 2, 3].map((offset) => new BrokerMessage('news', 'e1', offset, 'story', JSON.stringify({ n: offset }), 1000 + offset))

t.test('soloFrames: the frames in order, joined once; from a later start, exactly the rest', async (t) => {
  const run = new MessageRun(messages)
  const frames = messages.map((message) => message.soloFrame(setKey).frame.toString())
  t.equal(frames[0], `id: ${messages[0].soloCursor(setKey)}\nevent: story\ndata: {"n":1}\n\n`)
  t.equal(run.soloFrames(setKey, 0).toString(), frames.join(''))
  t.equal(run.soloFrames(setKey, 0), run.soloFrames(setKey, 0), 'the same Buffer for every subscriber')
  t.equal(run.soloFrames(setKey, 2).toString(), frames[2])
  t.equal(run.soloFrames(setKey, 1).toString(), frames[1] + frames[2])
})
