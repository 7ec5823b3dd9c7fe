// The client as a user writes it against the packed package: typed by a type import of the server's view
// (no server code at run time), in every module mode; the React hook's entry typechecks beside it.
import { connect, createClient, EventStreamError, type EventStream, type StateChange } from 'fastify-views/client'
import { useEventStream, type EventStreamStatus } from 'fastify-views/react'
import type { Ticks } from './app.js'

interface Topics { readonly '~topics': { 'task:{id}': { 'task:created': { id: number } } } }

export function follow (id: number): EventStream<{ 'task:created': { id: number } }> {
  return createClient<Topics>({ baseUrl: 'http://127.0.0.1:1' }).topics([`task:${id}`])
}

export function useTicks (base: string): EventStreamStatus {
  return useEventStream(() => connect<typeof Ticks>(`${base}/ticks`), { tick: (n: number) => { void n } }, [base])
}

async function main (): Promise<void> {
  const base = process.argv[2]
  const stream = connect<typeof Ticks>(`${base}/ticks`)
  const states: StateChange['state'][] = []
  stream.onState(({ state }) => states.push(state))
  const tick = await new Promise<number>((resolve) => stream.on('tick', (n) => resolve(n)))
  stream.close()
  const refused = await connect(`${base}/nowhere`).ended
  process.stdout.write(JSON.stringify({ tick, states, refused: [refused instanceof EventStreamError, refused?.status, refused?.code] }))
}

if (process.argv[2] !== undefined) main().catch((error: unknown) => { console.error(error); process.exit(1) })
