/**
 * Issue 14 #1 / issue 15 (lib/sse/connection.ts): a turn's push writes are held per stream and written as
 * ONE piece at the flush - on HTTP/1.1 one chunk whose bytes are built once for every stream handed the
 * same frames. Checked as exact bytes on a raw socket, and the byte budget counts the frames held.
 */
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { HeldFrames } from '../../lib/sse/connection.js'
import type { StreamRegistry } from '../../lib/sse/registry.js'
import type { EventStream } from '../../lib/sse/stream.js'
import { kStreamRegistry } from '../../lib/symbols.js'
import { until } from '../helpers/wait.js'
import { startApp } from '../helpers/stream-app.js'

/** A raw HTTP/1.1 GET whose bytes (head and chunked body, undecoded) are collected as latin1 text. */
async function rawGet (base: string, path: string): Promise<{ socket: Socket, text: () => string }> {
  const url = new URL(base)
  const socket = connect({ host: url.hostname, port: Number(url.port) })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.on('error', () => {})
  socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`)
  return { socket, text: () => text }
}

/** `frame` as one HTTP/1.1 chunk. */
function chunk (frame: string): string {
  return `${Buffer.byteLength(frame).toString(16)}\r\n${frame}\r\n`
}

t.test('HeldFrames: streams handed the same Buffers in the same order share one chain and one joined chunk', async (t) => {
  const a = Buffer.from('id: 1\ndata: "é"\n\n')
  const b = Buffer.from('id: 2\ndata: 2\n\n')
  const c = Buffer.from('id: 3\ndata: 3\n\n')
  const root = new HeldFrames()
  const first = root.then(a).then(b)
  const second = root.then(a).then(b)
  t.equal(second, first, 'the same node')
  t.equal(first.bytes, a.length + b.length)
  const body = Buffer.concat([a, b])
  t.same(first.chunk(), Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]), 'one chunk: size in hex, CRLF, the frames, CRLF')
  t.equal(second.chunk(), first.chunk(), 'built once, the same Buffer for both')
  t.same(first.joined(), body, 'joined: the frames alone')
  // A stream handed other bytes goes its own way; the ones before it keep theirs.
  const other = root.then(a).then(c)
  t.not(other, first)
  t.same(other.joined(), Buffer.concat([a, c]))
  t.same(first.joined(), body)
  t.same(root.then(Buffer.from(a)).joined(), a, 'equal bytes in another Buffer: a chain of its own, same bytes')
  t.equal(new HeldFrames().bytes, 0)
})

t.test('a burst of one turn leaves as ONE chunk per stream, the same bytes on every stream', async (t) => {
  const { app, base } = await startApp(t, { subscription: { heartbeatSeconds: 0 } })
  const readers = [await rawGet(base, '/events?topic=news'), await rawGet(base, '/events?topic=news')]
  t.teardown(() => { for (const reader of readers) reader.socket.destroy() })
  await until(() => readers.every((reader) => reader.text().includes('event: subscribed\n')), 'subscribed on both')
  const before = readers.map((reader) => reader.text().length)
  // One synchronous loop: the memory broker delivers all three in this turn.
  for (let n = 1; n <= 3; n++) void app.broker.publish('news', 'story', { n })
  await until(() => readers.every((reader) => reader.text().includes('"n":3')), 'the third event on both')
  const bodies = readers.map((reader, i) => reader.text().slice(before[i]))
  const ids = [...bodies[0].matchAll(/^id: (.+)$/gm)].map((match) => match[1])
  t.equal(ids.length, 3)
  const frames = ids.map((id, i) => `id: ${id}\nevent: story\ndata: {"n":${i + 1}}\n\n`).join('')
  t.equal(bodies[0], chunk(frames), 'exactly one chunk holding the three frames in order')
  t.equal(bodies[1], bodies[0], 'the other stream got the same bytes')
})

t.test('frames of one turn to streams of different topics: each stream its own chunk, in order, nothing mixed', async (t) => {
  const { app, base } = await startApp(t, { subscription: { heartbeatSeconds: 0 } })
  const a = await rawGet(base, '/events?topic=a')
  const b = await rawGet(base, '/events?topic=b')
  const both = await rawGet(base, '/events?topic=a,b')
  t.teardown(() => { for (const reader of [a, b, both]) reader.socket.destroy() })
  await until(() => [a, b, both].every((reader) => reader.text().includes('event: subscribed\n')), 'subscribed')
  const before = [a, b, both].map((reader) => reader.text().length)
  void app.broker.publish('a', 'x', { n: 1 })
  void app.broker.publish('b', 'x', { n: 2 })
  void app.broker.publish('a', 'x', { n: 3 })
  await until(() => a.text().includes('"n":3') && b.text().includes('"n":2') && both.text().includes('"n":3'), 'every event')
  const [bodyA, bodyB, bodyBoth] = [a, b, both].map((reader, i) => reader.text().slice(before[i]))
  const idsOf = (body: string): string[] => [...body.matchAll(/^id: (.+)$/gm)].map((match) => match[1])
  const [idsA, idsB, idsBoth] = [bodyA, bodyB, bodyBoth].map(idsOf)
  t.equal(bodyA, chunk(`id: ${idsA[0]}\nevent: x\ndata: {"n":1}\n\nid: ${idsA[1]}\nevent: x\ndata: {"n":3}\n\n`))
  t.equal(bodyB, chunk(`id: ${idsB[0]}\nevent: x\ndata: {"n":2}\n\n`))
  t.equal(bodyBoth, chunk(`id: ${idsBoth[0]}\nevent: x\ndata: {"n":1}\n\nid: ${idsBoth[1]}\nevent: x\ndata: {"n":2}\n\nid: ${idsBoth[2]}\nevent: x\ndata: {"n":3}\n\n`))
})

t.test('the byte budget counts the frames a stream holds until the flush', async (t) => {
  const { app, base } = await startApp(t, { subscription: { heartbeatSeconds: 0 } })
  const reader = await rawGet(base, '/events?topic=news')
  t.teardown(() => reader.socket.destroy())
  await until(() => reader.text().includes('event: subscribed\n'), 'subscribed')
  const registry = (app as unknown as Record<symbol, StreamRegistry>)[kStreamRegistry]
  const [stream] = [...registry.streams] as EventStream[]
  await until(() => stream.unsentBytes === 0, 'nothing unsent')
  const frame = Buffer.from('event: held\ndata: {}\n\n')
  stream.writeShared(frame, Date.now())
  stream.writeShared(frame, Date.now())
  t.equal(stream.unsentBytes, 2 * frame.length, 'both held frames count before anything reached the socket')
  await until(() => reader.text().endsWith(chunk('event: held\ndata: {}\n\nevent: held\ndata: {}\n\n')), 'one chunk of both')
  t.equal(stream.unsentBytes, 0)
})
