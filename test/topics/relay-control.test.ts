/**
 * A view relaying `broker.subscribe()` frames the library's control events (`subscribed`, `reset`) as the
 * library wrote them, whatever the view's data schema: the schema describes the topics' events. Found by an
 * outside review: with a natural `{ id }` schema every connect ended in an error frame, and with a union
 * schema a reset lost its `reason`.
 */
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { ServerSideEventsView } from '../../lib/index.js'
import { openEventStream } from '../../lib/testing/index.js'
import { startApp } from '../helpers/stream-app.js'

const Change = Type.Object({ id: Type.Integer() })

class Changes extends ServerSideEventsView({ data: Change, heartbeatSeconds: 0 }) {
  async * events () {
    yield * this.app.broker.subscribe<{ id: number }>(['changes'], { signal: this.signal, lastEventId: this.lastEventId }) as AsyncIterable<any>
  }
}

t.test('subscribed and reset leave as the library wrote them; topic events as the schema declares', async (t) => {
  const { app } = await startApp(t, { views: { '/changes': Changes } })
  const stream = await openEventStream(app, '/changes')
  t.teardown(() => stream.close())
  await stream.next('subscribed')
  await app.broker.publish('changes', 'change', { id: 7, secret: 'x' })
  await stream.next('change')
  t.same(stream.events.map((event) => [event.event, event.text]), [
    ['subscribed', '{"topics":["changes"]}'],
    ['change', '{"id":7}']
  ], 'subscribed as written; the event stripped to its schema')

  const resumed = await openEventStream(app, '/changes', { lastEventId: 'not a cursor' })
  t.teardown(() => resumed.close())
  const reset = await resumed.next()
  t.same([reset.event, reset.text], ['reset', '{"reason":"malformed","topics":["changes"]}'], 'reset with its reason')
})
