/** Reading what a server wrote: event-stream frames, and an HTTP/1.1 chunked response read off a raw socket. */

export interface Frame {
  id?: string
  event: string
  data: string
}

/** The complete frames of an event-stream text (LF line ends, as the server writes them), and the rest. */
export function parseFrames (text: string): { frames: Frame[], rest: string } {
  const frames: Frame[] = []
  let start = 0
  while (true) {
    const end = text.indexOf('\n\n', start)
    if (end < 0) break
    const block = text.slice(start, end)
    start = end + 2
    let id: string | undefined
    let event = 'message'
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1)
      if (field === 'id') id = value
      else if (field === 'event') event = value
      else if (field === 'data') data.push(value)
    }
    // A frame without data dispatches nothing (the opening comment, heartbeats, `retry:`).
    if (data.length > 0) frames.push({ ...(id === undefined ? {} : { id }), event, data: data.join('\n') })
  }
  return { frames, rest: text.slice(start) }
}

/** Reads an HTTP/1.1 response received on a raw socket: head, then the chunked body as far as it got. */
export function parseRawResponse (bytes: Buffer): { status: number, head: string, body: string } {
  const headEnd = bytes.indexOf('\r\n\r\n')
  if (headEnd < 0) throw new Error(`no complete response head in ${bytes.length} bytes`)
  const head = bytes.subarray(0, headEnd).toString('latin1')
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
  if (!/\r\ntransfer-encoding: chunked/i.test(head)) throw new Error(`expected a chunked body: ${head}`)
  const parts: Buffer[] = []
  let at = headEnd + 4
  while (at < bytes.length) {
    const lineEnd = bytes.indexOf('\r\n', at)
    if (lineEnd < 0) break
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16)
    if (size === 0) break
    const dataStart = lineEnd + 2
    // The last chunk may have arrived in part.
    parts.push(bytes.subarray(dataStart, Math.min(dataStart + size, bytes.length)))
    at = dataStart + size + 2
  }
  return { status, head, body: Buffer.concat(parts).toString('utf8') }
}
