/**
 * A view relaying `broker.subscribe()` frames the library's control events (`subscribed`, `reset`) as the
 * library wrote them, whatever the view's data schema: the schema describes the topics' events. Found by an
 * outside review: with a natural `{ id }` schema every connect ended in an error frame, and with a union
 * schema a reset lost its `reason`.
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { StreamReader } from '../helpers/stream-reader.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

const Change = Type.Object({ id: Type.Integer() })

class Changes extends ServerSideEventsView({ data: Change, heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<{ id: number }>(['changes'], { signal: this.signal, lastEventId: this.lastEventId }) as AsyncIterable<any>
  }
}

t.test('subscribed and reset leave as the library wrote them; topic events as the schema declares', async (t) => {
  const { app, base } = await startApp(t, { views: { '/changes': Changes } })
  const reader = await StreamReader.open(base, '/changes')
  t.teardown(() => reader.close())
  await until(() => reader.frames.length === 1, 'subscribed')
  await app.broker.publish('changes', 'change', { id: 7, secret: 'x' })
  await until(() => reader.frames.length === 2, 'the event')
  t.same(reader.frames.map((frame) => [frame.event, frame.data]), [
    ['subscribed', '{"topics":["changes"]}'],
    ['change', '{"id":7}']
  ], 'subscribed as written; the event stripped to its schema')

  const resumed = await StreamReader.open(base, '/changes', { 'last-event-id': 'not a cursor' })
  t.teardown(() => resumed.close())
  await until(() => resumed.frames.length === 1, 'reset')
  t.same([resumed.frames[0].event, resumed.frames[0].data], ['reset', '{"reason":"malformed","topics":["changes"]}'], 'reset with its reason')
})
