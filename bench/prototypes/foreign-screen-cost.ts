/**
 * What the catalog's check at delivery costs a Redis broker (lib/broker/foreign-screen.ts), per event, in
 * one process without Redis: this broker's own copy (recognised, not checked), another publisher's event
 * checked the first time, and the same event read again from history (the remembered verdict).
 *
 *   npx tsx bench/prototypes/foreign-screen-cost.ts [events]
 */
import { Type } from '@sinclair/typebox'
import { defineTopics } from '../../lib/index.js'
import { ForeignScreen } from '../../lib/broker/foreign-screen.js'
import { BrokerMessage } from '../../lib/broker/message.js'

const N = Number(process.argv[2] ?? 16000)
const topics = defineTopics({ 'task:{id}': { events: { updated: Type.Object({ id: Type.Integer(), title: Type.String(), done: Type.Boolean() }) } } })
const json = (i: number): string => JSON.stringify({ id: i, title: `task number ${i}`, done: i % 2 === 0 })
const listened = (): boolean => true

function run (label: string, make: (screen: ForeignScreen, i: number) => BrokerMessage, prepare?: (screen: ForeignScreen, i: number) => void): void {
  const results: number[] = []
  for (let round = 0; round < 5; round++) {
    const screen = new ForeignScreen(topics, { refusedMessages: 0 }, () => undefined)
    const messages: BrokerMessage[] = []
    for (let i = 1; i <= N; i++) { prepare?.(screen, i); messages.push(make(screen, i)) }
    const start = process.hrtime.bigint()
    for (const message of messages) screen.screen(message)
    results.push(Number(process.hrtime.bigint() - start) / N)
  }
  results.sort((a, b) => a - b)
  console.log(`${label.padEnd(44)} median ${results[2].toFixed(0)} ns/event (min ${results[0].toFixed(0)})`)
}

const message = (i: number, body = json(i)): BrokerMessage => new BrokerMessage(`task:${i % 100}`, 'e1', i, 'updated', body, 1000 + i)
run('own copy, pub/sub before the reply', (_s, i) => message(i), (s, i) => s.publishing(1000 + i, [`task:${i % 100}`], 'updated', json(i)))
run('own copy, reply before pub/sub', (_s, i) => message(i), (s, i) => s.published(1000 + i, [{ topic: `task:${i % 100}`, epoch: 'e1', offset: i }], listened))
run('foreign event, checked', (_s, i) => message(i))
run('foreign event with an extra property, stripped', (_s, i) => message(i, JSON.stringify({ id: i, title: 't', done: true, password: 'x' })))
run('foreign event read again (remembered)', (_s, i) => message(i), (s, i) => { s.screen(message(i)) })
