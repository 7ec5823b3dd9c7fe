/**
 * The client's event-stream parser: the standard's examples exactly, and, for random streams cut at
 * random places (inside lines, between the CR and LF of a CRLF, inside multi-byte characters), the same
 * events as the stream parsed whole - and the same as eventsource-parser, an independent implementation.
 */
import t from 'tap'
import fc from 'fast-check'
import { createParser } from 'eventsource-parser'
import { EventStreamParser, type ParsedEvent } from '../../lib/client/sse-parser.js'

function parse (chunks: Array<string | Uint8Array>, lastEventId = ''): { events: ParsedEvent[], retries: number[], lastEventId: string } {
  const events: ParsedEvent[] = []
  const retries: number[] = []
  const parser = new EventStreamParser({ event: (event) => events.push(event), retry: (ms) => retries.push(ms) }, lastEventId)
  const decoder = new TextDecoder()
  for (const chunk of chunks) parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }))
  return { events, retries, lastEventId: parser.lastEventId }
}

t.test("the standard's examples", async (t) => {
  // https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
  t.same(parse(['data: YHOO\ndata: +2\ndata: 10\n\n']).events, [{ type: 'message', data: 'YHOO\n+2\n10', lastEventId: '' }])
  t.same(parse([': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n']).events, [
    { type: 'message', data: 'first event', lastEventId: '1', id: '1', retry: undefined },
    { type: 'message', data: 'second event', lastEventId: '', id: '', retry: undefined },
    { type: 'message', data: ' third event', lastEventId: '', id: undefined, retry: undefined }
  ])
  t.same(parse(['data\n\ndata\ndata\n\ndata:']).events, [
    { type: 'message', data: '', lastEventId: '' },
    { type: 'message', data: '\n', lastEventId: '' }
  ], 'an unfinished event at the end is not dispatched')
  t.same(parse(['data:test\n\ndata: test\n\n']).events.map((event) => event.data), ['test', 'test'])
})

t.test('fields: event, id, retry, comments, unknown fields, CR and CRLF line ends', async (t) => {
  const parsed = parse(['retry: 2500\r\nevent: price\rid: 7\r\ndata: {"a":1}\r\n\r\n: hi\nfoo: bar\nretry: 1x\nretry\ndata: 2\n\n'])
  // Each event carries its own frame's id and retry (undefined without one); lastEventId carries on.
  t.same(parsed.events, [
    { type: 'price', data: '{"a":1}', lastEventId: '7', id: '7', retry: 2500 },
    { type: 'message', data: '2', lastEventId: '7', id: undefined, retry: undefined }
  ])
  t.same(parsed.retries, [2500], 'only a retry of digits counts')
  t.same(parse(['id: a\0b\ndata: x\n\n']).events[0].lastEventId, '', 'an id with NUL is ignored')
  t.equal(parse(['id: 9\n\n']).lastEventId, '9', 'an id-only frame moves the cursor without an event')
  t.equal(parse(['id: 9\n'], 'before').lastEventId, 'before', 'an id whose frame never ended does not move it')
})

t.test('a CR at the end of a chunk ends its line at once, and an LF opening the next chunk is its other half', async (t) => {
  t.same(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n']).events, [{ type: 'message', data: 'a\nb', lastEventId: '' }], 'CRLF split: one line end, not two')
  t.same(parse(['data: a\r', '\r']).events, [{ type: 'message', data: 'a', lastEventId: '' }], 'CR CR: a line end, then an empty line')
  t.same(parse(['data: a\r\r']).events, [{ type: 'message', data: 'a', lastEventId: '' }], 'CR-only lines: the event is out before any further byte')
  t.same(parse(['data: a\r', '\n', '\n']).events, [{ type: 'message', data: 'a', lastEventId: '' }], 'only the first LF after a CR is skipped')
  t.same(parse(['data: a\r', '', '\ndata: b\n\n']).events, [{ type: 'message', data: 'a\nb', lastEventId: '' }], 'an empty chunk between the CR and its LF: still one line end')
  t.same(parse(['data: a\r', new Uint8Array(0), '\ndata: b\n\n']).events, [{ type: 'message', data: 'a\nb', lastEventId: '' }], 'an empty read between them too')
})

t.test('comments reach the comment handler, one leading space stripped; without one they are dropped', async (t) => {
  const comments: string[] = []
  const events: ParsedEvent[] = []
  const parser = new EventStreamParser({ event: (event) => events.push(event), comment: (text) => comments.push(text) })
  parser.feed(':\n: hi\n:  two\n:x\r\ndata: 1\n\n')
  t.same(comments, ['', 'hi', ' two', 'x'])
  t.same(events, [{ type: 'message', data: '1', lastEventId: '', id: undefined, retry: undefined }])
  t.same(parse([': a\n', 'data: 1\n\n']).events, [{ type: 'message', data: '1', lastEventId: '' }])
})

// Streams built from lines that matter: fields with and without a space, every line ending, comments, BOM-free.
const LINE_ENDS = ['\n', '\r', '\r\n']
const field = fc.oneof(
  fc.tuple(fc.constantFrom('data', 'event', 'id', 'retry', 'data', 'data', 'x'), fc.constantFrom(':', ': ', ''), fc.string({ unit: 'grapheme', maxLength: 12 }))
    .map(([name, colon, value]) => `${name}${colon}${value.replace(/[\r\n]/g, '')}`),
  fc.constant(''), fc.constant(''), fc.constant(': comment'), fc.constantFrom('retry: 10', 'id: é€😀')
)
const stream = fc.array(fc.tuple(field, fc.constantFrom(...LINE_ENDS)), { maxLength: 40 }).map((lines) => lines.map(([line, end]) => line + end).join('') + '\n\n')

function cut (bytes: Uint8Array, points: number[]): Uint8Array[] {
  const sorted = [...new Set(points.map((point) => point % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let start = 0
  for (const point of sorted) { chunks.push(bytes.subarray(start, point)); start = point }
  chunks.push(bytes.subarray(start))
  return chunks
}

t.test('random streams cut anywhere give the events of the whole stream, and those of eventsource-parser', async (t) => {
  fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (text, points) => {
    const whole = parse([text])
    const bytes = new TextEncoder().encode(text)
    const pieces = parse(cut(bytes, points))
    t.same(pieces, whole)
    const oracle: Array<{ type: string, data: string }> = []
    const other = createParser({ onEvent: (event) => oracle.push({ type: event.event ?? 'message', data: event.data }) })
    other.feed(text)
    t.same(whole.events.map(({ type, data }) => ({ type, data })), oracle)
    return true
  }), { numRuns: 300 })
})

t.test('a long line is held, not split, and its length is visible (the client bounds it)', async (t) => {
  const events: ParsedEvent[] = []
  const parser = new EventStreamParser({ event: (event) => events.push(event) })
  parser.feed('data: ' + 'x'.repeat(10_000))
  t.equal(parser.pendingLength, 10_006)
  parser.feed('\n\n')
  t.equal(events[0].data.length, 10_000)
  t.equal(parser.pendingLength, 0)
})
