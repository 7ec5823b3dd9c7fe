/**
 * The parser fastify-views/testing reads streams with - the client's (lib/client/sse-parser.ts), the one
 * parser of the package - fed as openEventStream feeds it (each chunk's bytes through one TextDecoder in
 * stream mode, which drops a leading BOM), against the spec's rules and against an independent
 * implementation (eventsource-parser): any stream of frames, written with any of the three line endings,
 * split into chunks at any point (a CRLF or a multi-byte character across two chunks too), parses into the
 * same events, comments and retries, each event with its frame's own id and retry as openEventStream shows.
 */
import t from 'tap'
import fc from 'fast-check'
import { createParser } from 'eventsource-parser'
import { EventStreamParser } from '../../lib/client/sse-parser.js'

/** An event as openEventStream records it (its `event`, `text`/`data`, `id`, `lastEventId`, `retry`). */
interface SeenEvent { event: string, data: string, id: string | undefined, lastEventId: string, retry: number | undefined }

function parse (chunks: string[]): { events: SeenEvent[], comments: string[], retries: number[] } {
  const out = { events: [] as SeenEvent[], comments: [] as string[], retries: [] as number[] }
  const parser = new EventStreamParser({
    event: ({ type, data, id, lastEventId, retry }) => out.events.push({ event: type, data, id, lastEventId, retry }),
    comment: (text) => out.comments.push(text),
    retry: (ms) => out.retries.push(ms)
  })
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  for (const chunk of chunks) parser.feed(decoder.decode(encoder.encode(chunk), { stream: true }))
  return out
}

t.test('the spec\'s cases', async (t) => {
  const { events, comments, retries } = parse(['\uFEFF: hello\n', 'data\n\n', 'event: a\nid: 1\ndata: x\ndata:  y\n\n', 'id: 2\n\n', 'data: z\n\n', 'id: a\0b\nretry: 10\nretry: x\nfoo: bar\ndata: w\r\n\r\n', 'data: never dispatched'])
  t.same(comments, ['hello'], 'a comment, one leading space stripped')
  t.same(retries, [10], 'a retry of digits only')
  t.same(events, [
    { event: 'message', data: '', id: undefined, lastEventId: '', retry: undefined },
    { event: 'a', data: 'x\n y', id: '1', lastEventId: '1', retry: undefined },
    // `id: 2` in a frame without data dispatches nothing, but the last event id moves.
    { event: 'message', data: 'z', id: undefined, lastEventId: '2', retry: undefined },
    // An id holding NUL is ignored.
    { event: 'message', data: 'w', id: undefined, lastEventId: '2', retry: 10 }
  ])
})

const LINE_ENDS = ['\n', '\r\n', '\r'] as const
// Field values without line breaks (any other character, astral ones included); names without `:` at the start.
const value = fc.string({ unit: 'grapheme', maxLength: 12 }).map((text) => text.replace(/[\r\n]/g, ''))
const frame = fc.oneof(
  fc.record({ kind: fc.constant('event' as const), event: fc.option(value.filter((name) => name !== ''), { nil: undefined }), data: fc.array(value, { minLength: 1, maxLength: 3 }), id: fc.option(value.map((id) => id.replace(/\0/g, '')), { nil: undefined }) }),
  fc.record({ kind: fc.constant('comment' as const), text: value }),
  fc.record({ kind: fc.constant('retry' as const), ms: fc.nat(100_000) })
)

t.test('any frames, any line ending, any chunking: the same as eventsource-parser, and as written', async () => {
  fc.assert(fc.property(fc.array(frame, { maxLength: 12 }), fc.constantFrom(...LINE_ENDS), fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), (frames, eol, bom, cuts) => {
    let text = bom ? '\uFEFF' : ''
    for (const f of frames) {
      if (f.kind === 'comment') text += `:${f.text}${eol}`
      else if (f.kind === 'retry') text += `retry: ${f.ms}${eol}${eol}`
      else {
        if (f.id !== undefined) text += `id: ${f.id}${eol}`
        if (f.event !== undefined) text += `event: ${f.event}${eol}`
        for (const line of f.data) text += `data: ${line}${eol}`
        text += eol
      }
    }
    // Cut by UTF-16 unit: a surrogate pair may be split, as a decoder never does - so cut only between code points.
    const points = [...text]
    const positions = [...new Set(cuts.map((cut) => cut % (points.length + 1)))].sort((a, b) => a - b)
    const chunks: string[] = []
    let from = 0
    for (const at of positions) { chunks.push(points.slice(from, at).join('')); from = at }
    chunks.push(points.slice(from).join(''))

    const ours = parse(chunks)
    const unmarked = [...chunks]
    if (bom) unmarked[unmarked.findIndex((chunk) => chunk !== '')] = unmarked.find((chunk) => chunk !== '')!.slice(1)
    const theirs: Array<{ event: string, data: string }> = []
    const theirRetries: number[] = []
    const oracle = createParser({ onEvent: (event) => theirs.push({ event: event.event ?? 'message', data: event.data }), onRetry: (ms) => theirRetries.push(ms) })
    // eventsource-parser keeps a leading BOM (the spec drops it): it reads the stream after it.
    for (const chunk of unmarked) oracle.feed(chunk)
    // It holds a final CR until it knows whether an LF follows; an LF ends the line either way (CRLF or an empty line).
    oracle.feed('\n')

    const written = frames.filter((f) => f.kind === 'event')
    const expected = written.map((f) => ({ event: f.event ?? 'message', data: f.data.join('\n') }))
    const comparable = ours.events.map((event) => ({ event: event.event, data: event.data }))
    if (JSON.stringify(comparable) !== JSON.stringify(expected)) throw new Error(`events: ${JSON.stringify(comparable)} != ${JSON.stringify(expected)}`)
    if (JSON.stringify(comparable) !== JSON.stringify(theirs)) throw new Error(`differs from eventsource-parser: ${JSON.stringify(comparable)} != ${JSON.stringify(theirs)}`)
    const comments = frames.filter((f) => f.kind === 'comment').map((f) => f.text.replace(/^ /, ''))
    if (JSON.stringify(ours.comments) !== JSON.stringify(comments)) throw new Error(`comments: ${JSON.stringify(ours.comments)}`)
    const retries = frames.filter((f) => f.kind === 'retry').map((f) => f.ms)
    if (JSON.stringify(ours.retries) !== JSON.stringify(retries) || JSON.stringify(theirRetries) !== JSON.stringify(retries)) throw new Error(`retries: ${JSON.stringify(ours.retries)}`)
    // Each event's own id, and the last id carried forward.
    let last = ''
    written.forEach((f, i) => {
      if (f.id !== undefined) last = f.id
      if (ours.events[i].id !== f.id || ours.events[i].lastEventId !== last) throw new Error(`ids of event ${i}: ${JSON.stringify(ours.events[i])}`)
    })
  }), { seed: 1301, numRuns: 400 })
})
