import t from 'tap'
import { encodeComment, encodeData, encodeFrame, FVIEWS_ERR_SSE_INVALID_FIELD } from '../../lib/index.js'

const INVALID_NAME = (field: string) => ({ code: 'FVIEWS_ERR_SSE_INVALID_FIELD', message: `Invalid SSE '${field}' field: CR, LF and NUL are not allowed` })
const INVALID_RETRY = (got: string) => ({ code: 'FVIEWS_ERR_SSE_INVALID_FIELD', message: `Invalid SSE 'retry' field: expected a non-negative integer, got ${got}` })

/** The code and the exact message of what `fn` throws (tap's throws() would match the message as a substring). */
function thrown (fn: () => unknown): { code: unknown, message: string } | 'nothing thrown' {
  try {
    fn()
  } catch (error) {
    return { code: (error as { code?: unknown }).code, message: (error as Error).message }
  }
  return 'nothing thrown'
}

t.test('fields come in the order id, event, retry, data, then the blank line', async (t) => {
  t.equal(encodeFrame({ data: '{"a":1}' }), 'data: {"a":1}\n\n')
  t.equal(encodeFrame({ id: 'e1', data: '1' }), 'id: e1\ndata: 1\n\n')
  t.equal(encodeFrame({ event: 'price', data: '1' }), 'event: price\ndata: 1\n\n')
  t.equal(encodeFrame({ retry: 2500, data: '1' }), 'retry: 2500\ndata: 1\n\n')
  t.equal(encodeFrame({ data: '{"p":1.5}', retry: 10, event: 'price', id: 'abc' }), 'id: abc\nevent: price\nretry: 10\ndata: {"p":1.5}\n\n')
  t.equal(encodeFrame({ id: 'x', retry: 5 }), 'id: x\nretry: 5\n\n', 'a frame without data has no data line')
  t.equal(encodeFrame({}), '\n', 'an empty frame is just its terminator')
})

t.test('zero is a value: retry: 0 and id: 0 are sent', async (t) => {
  t.equal(encodeFrame({ id: 0, data: 'x' }), 'id: 0\ndata: x\n\n')
  t.equal(encodeFrame({ retry: 0, data: 'x' }), 'retry: 0\ndata: x\n\n')
  t.equal(encodeFrame({ id: 0, retry: 0 }), 'id: 0\nretry: 0\n\n')
  t.equal(encodeFrame({ id: '', data: 'x' }), 'id: \ndata: x\n\n', 'an empty id (which resets the client\'s last id) is sent too')
  t.equal(encodeFrame({ id: 42, data: 'x' }), 'id: 42\ndata: x\n\n')
})

t.test('data: compact JSON and plain strings go out as they are, one data line each', async (t) => {
  t.equal(encodeData(JSON.stringify({ a: [1, 2], b: 'c d' })), 'data: {"a":[1,2],"b":"c d"}\n')
  t.equal(encodeData('plain text: with a colon'), 'data: plain text: with a colon\n')
  t.equal(encodeData(''), 'data: \n', 'empty data is one empty data line')
  t.equal(encodeData(' leading space'), 'data:  leading space\n', 'the one space after the colon is the separator; the data keeps its own')
  t.equal(encodeData(JSON.stringify('quoted\nnewline')), 'data: "quoted\\nnewline"\n', 'an escaped newline in JSON stays on one line')
})

t.test('multi-line data: every line terminator (LF, CRLF, lone CR) starts a new data line', async (t) => {
  t.equal(encodeData('a\nb'), 'data: a\ndata: b\n')
  t.equal(encodeData('a\r\nb'), 'data: a\ndata: b\n')
  t.equal(encodeData('a\rb'), 'data: a\ndata: b\n')
  t.equal(encodeData('a\r\rb'), 'data: a\ndata: \ndata: b\n', 'two lone CRs are an empty line between')
  t.equal(encodeData('a\n\nb'), 'data: a\ndata: \ndata: b\n', 'an empty line is an empty data line')
  t.equal(encodeData('a\n'), 'data: a\ndata: \n', 'a trailing newline is kept as a final empty data line')
  t.equal(encodeData('\na'), 'data: \ndata: a\n')
  t.equal(encodeData('\n'), 'data: \ndata: \n')
  t.equal(encodeData('a\r\n\rb\n\r\nc'), 'data: a\ndata: \ndata: b\ndata: \ndata: c\n', 'mixed terminators')
  t.equal(encodeFrame({ id: '7', event: 'log', data: 'line 1\r\nline 2\rline 3\n' }), 'id: 7\nevent: log\ndata: line 1\ndata: line 2\ndata: line 3\ndata: \n\n')
})

t.test('comments: ": " lines, one per line, then the blank line', async (t) => {
  t.equal(encodeComment(), ': \n\n')
  t.equal(encodeComment(''), ': \n\n')
  t.equal(encodeComment('keep-alive'), ': keep-alive\n\n')
  t.equal(encodeComment('one\ntwo'), ': one\n: two\n\n')
  t.equal(encodeComment('one\r\ntwo\rthree\n'), ': one\n: two\n: three\n: \n\n')
})

t.test('CR, LF or NUL in event or id is refused, never written', async (t) => {
  for (const bad of ['a\nb', 'a\rb', 'a\r\nb', 'a\0b', '\n', 'price\ndata: injected']) {
    t.same(thrown(() => encodeFrame({ event: bad, data: '1' })), INVALID_NAME('event'), `event ${JSON.stringify(bad)}`)
    t.same(thrown(() => encodeFrame({ id: bad, data: '1' })), INVALID_NAME('id'), `id ${JSON.stringify(bad)}`)
  }
  const error = t.throws(() => encodeFrame({ event: 'x\ny' })) as Error
  t.ok(error instanceof FVIEWS_ERR_SSE_INVALID_FIELD, 'an instance of the exported error class')
  t.equal((error as any).statusCode, 500)
  t.equal(encodeFrame({ event: 'a b:c\tD', id: 'é-1', data: '1' }), 'id: é-1\nevent: a b:c\tD\ndata: 1\n\n', 'other characters are fine')
})

t.test('retry must be a non-negative integer', async (t) => {
  t.same(thrown(() => encodeFrame({ retry: -1 })), INVALID_RETRY('-1'))
  t.same(thrown(() => encodeFrame({ retry: 1.5 })), INVALID_RETRY('1.5'))
  t.same(thrown(() => encodeFrame({ retry: Number.NaN })), INVALID_RETRY('NaN'))
  t.same(thrown(() => encodeFrame({ retry: Infinity })), INVALID_RETRY('Infinity'))
  t.same(thrown(() => encodeFrame({ retry: '5' as any })), INVALID_RETRY('5'), 'a string is not a number of milliseconds')
  t.equal(encodeFrame({ retry: 2 ** 40 }), `retry: ${2 ** 40}\n\n`)
})
