/**
 * An instance shut down while its clients are subscribed (`app.close()` with a 300 ms drain), while events
 * keep being published through another instance: its streams end cleanly over the drain window, it
 * answers 503 during the drain and refuses new connections, and its clients - moved to the other
 * instance by the "load balancer" (the test, or the EventSource's own reconnect sent there) - resume
 * with their last id and miss nothing published during the switch.
 */
import t from 'tap'
import { connect } from 'node:net'
import { request } from 'undici'
import { startRedis } from '../helpers/redis-server.js'
import { eventsPath, startInstance } from '../helpers/delivery-app.js'
import { describe, Ledger, noteKeys, notesOf } from '../helpers/ledger.js'
import { ResumingEventSource } from '../helpers/resuming-event-source.js'
import { dispatcher, StreamReader } from '../helpers/stream-reader.js'
import { sleep, until } from '../helpers/wait.js'

const redis = await startRedis({ t })
const TOPICS = ['deploy:0', 'deploy:1', 'deploy:2']

/** A request whose head is sent in two parts: the connection is busy (not idle) when the server closes. */
async function halfSentRequest (base: string, path: string) {
  const url = new URL(base)
  const socket = connect({ host: url.hostname, port: Number(url.port) })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  let received = ''
  socket.on('data', (chunk) => { received += chunk.toString('utf8') })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.write(`GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\n`)
  return { finish: () => socket.write('\r\n'), closed, received: () => received }
}

t.test('a draining instance ends its streams cleanly; its clients resume on another instance and miss nothing', async (t) => {
  const a = await startInstance(t, { redisUrl: redis.url, view: { retry: 20 }, app: { drainMs: 300 } })
  const b = await startInstance(t, { redisUrl: redis.url, view: { retry: 20 } })
  const plans = Array.from({ length: 30 }, (_, i) => i % 3 === 0 ? [...TOPICS] : [TOPICS[i % 3]])
  const onA = await Promise.all(plans.map((topics) => StreamReader.open(a.base, eventsPath(topics))))
  t.teardown(() => onA.forEach((reader) => reader.close()))
  const browsers = [[TOPICS[0]], [...TOPICS]].map((topics, i) => ({ topics, source: new ResumingEventSource(a.base, eventsPath(topics), `browser-${i}`) }))
  t.teardown(() => browsers.forEach(({ source }) => source.close()))
  await until(() => onA.every((reader) => reader.frames.length === 1) && browsers.every(({ source }) => source.events.length === 1), 'every client is subscribed on A')

  // Events flow through B the whole time.
  const ledger = new Ledger()
  let publishing = true
  const publisher = (async () => {
    while (publishing) {
      const attempt = await ledger.publish(TOPICS[ledger.attempts.length % 3], (topic, note) => b.app.broker.publish(topic, 'note', note))
      if (!attempt.ok) throw new Error(`publish ${attempt.n} failed: ${attempt.error}`)
      await sleep(1)
    }
  })()
  await until(() => ledger.succeeded.length >= 60, 'events flow')
  const health = await halfSentRequest(a.base, '/health')

  // The load balancer moves the browsers: their automatic reconnect now goes to B.
  for (const { source } of browsers) source.base = b.base
  const registry = (a.app as any)[Symbol.for('fastify-views.stream-registry')]
  const closing = a.app.close()
  await until(() => registry.draining === true, 'A drains')
  health.finish()
  // A fresh TCP connection (a pooled keep-alive one would still reach A and get its 503).
  const refused = await new Promise<string>((resolve) => {
    const socket = connect(Number(new URL(a.base).port), '127.0.0.1', () => { socket.destroy(); resolve('connected') })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
  })
  t.equal(refused, 'ECONNREFUSED', 'A accepts no new connection while it drains')

  // Each client whose stream ended (a clean end) reconnects to B with its last id.
  const onB: Array<StreamReader | undefined> = onA.map(() => undefined)
  await until(async () => {
    for (let i = 0; i < onA.length; i++) {
      if (onB[i] !== undefined || !onA[i].ended) continue
      onB[i] = await StreamReader.open(b.base, eventsPath(plans[i]), { 'last-event-id': onA[i].lastId as string })
    }
    return onB.every((reader) => reader !== undefined)
  }, 'every stream on A ended and its client moved to B')
  t.teardown(() => onB.forEach((reader) => reader?.close()))
  await closing
  t.same(onA.filter((reader) => reader.error !== undefined).map((reader) => reader.error?.message), [], 'every stream ended cleanly, none was cut')
  await until(() => browsers.every(({ source }) => source.opens === 2), 'the browsers reopened on B')
  await until(() => ledger.succeeded.length >= 60 + 150, 'events flow after the switch')
  publishing = false
  await publisher

  await health.closed
  t.match(health.received(), /^HTTP\/1\.1 503 Service Unavailable\r\n/, 'a request reaching A during the drain is answered 503')
  t.match(health.received(), /\r\nConnection: close\r\n/i)

  for (let i = 0; i < onA.length; i++) {
    const reader = onB[i] as StreamReader
    await reader.waitForPublished(ledger.expected(plans[i]).length - notesOf(onA[i].frames).length)
    const wanted = noteKeys(ledger.expected(plans[i]))
    const subscribed = `subscribed ${JSON.stringify({ topics: plans[i] })}`
    const onFirst = notesOf(onA[i].frames).length
    t.ok(onFirst > 0, `client ${i} received events on A`)
    t.same([...describe(onA[i].frames), ...describe(reader.frames)], [subscribed, ...wanted.slice(0, onFirst), subscribed, ...wanted.slice(onFirst)], `client ${i} (${plans[i].join(',')}): nothing missed, nothing twice`)
    t.equal(reader.frames[0].id, onA[i].lastId, `client ${i}: B resumed at its cursor`)
  }
  for (const { topics, source } of browsers) {
    const wanted = noteKeys(ledger.expected(topics))
    await until(() => source.notes.length === wanted.length, `browser ${topics.join(',')} has every event`)
    const subscribed = `subscribed ${JSON.stringify({ topics })}`
    const first = describe(source.events).indexOf(subscribed, 1)
    t.same(describe(source.events), [subscribed, ...wanted.slice(0, first - 1), subscribed, ...wanted.slice(first - 1)], `browser ${topics.join(',')}: nothing missed, nothing twice`)
    t.same(source.connections.map((connection) => connection.base), [a.base, b.base])
    t.equal(source.connections[1].lastEventId, source.events[first - 1].lastEventId, 'its reconnect sent its last id')
  }
  t.equal((await request(`${b.base}/health`, { dispatcher })).statusCode, 200, 'B stayed healthy')
})
