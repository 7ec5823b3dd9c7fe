// fastify-views/testing as a user imports it, in every module mode: a stream of a view opened on an app
// that does not listen, its events typed by the view (a wrong name does not compile).
import { openEventStream, type EventsOf, type TestEvent } from 'fastify-views/testing'
import { build, Ticks } from './app.js'

async function main (): Promise<void> {
  const app = await build()
  const stream = await openEventStream<EventsOf<typeof Ticks>>(app, '/ticks')
  const tick: TestEvent<'tick', number> = await stream.next('tick')
  const body = await stream.body()
  await stream.close()
  await app.close()
  process.stdout.write(JSON.stringify({ tick: [tick.event, tick.data], body }))
}

// Never called: it only has to fail to compile where marked.
export async function wrongName (): Promise<void> {
  const stream = await openEventStream<EventsOf<typeof Ticks>>(await build(), '/ticks')
  // @ts-expect-error 'tock' is not an event of Ticks
  await stream.next('tock')
  const event = await stream.next()
  // @ts-expect-error a tick's data is a number
  const text: string = event.data
  void text
}

main().catch((error: unknown) => { console.error(error); process.exit(1) })
