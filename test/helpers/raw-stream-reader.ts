/** A raw TCP reader of an event stream that a test pauses and resumes, decoding the chunked body as it arrives. */
import { connect, type Socket } from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import { parseFrames, type Frame } from './sse-frames.js'

/**
 * An HTTP/1.1 event-stream response decoded as it arrives, on a raw TCP socket the test pauses and resumes
 * (`socket.pause()` stops reading: the kernel buffers fill and the server meets real backpressure). The
 * chunked body is decoded incrementally, so checking a long stream often costs nothing.
 */
export class RawStreamReader {
  readonly socket: Socket
  status = 0
  head = ''
  readonly frames: Frame[] = []
  closed = false
  readonly done: Promise<void>
  private pending: Buffer = Buffer.alloc(0)
  private inHead = true
  /** Bytes left of the current chunk; -1: a size line is next; -2: the CRLF after a chunk is next. */
  private chunkLeft = -1
  private text = ''
  private readonly decoder = new StringDecoder('utf8')

  private constructor (socket: Socket) {
    this.socket = socket
    this.done = new Promise((resolve) => socket.once('close', () => { this.closed = true; resolve() }))
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
  }

  static async open (base: string, path: string, headers: Record<string, string> = {}): Promise<RawStreamReader> {
    const url = new URL(base)
    const socket = connect({ host: url.hostname, port: Number(url.port) })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const reader = new RawStreamReader(socket)
    const lines = Object.entries({ host: url.host, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    socket.write(`GET ${path} HTTP/1.1\r\n${lines}\r\n`)
    return reader
  }

  /** Events other than `subscribed` / `reset`. */
  get published (): Frame[] { return this.frames.filter((frame) => frame.event !== 'subscribed' && frame.event !== 'reset') }

  /** The id of the last complete frame that carried one: the client's Last-Event-ID. */
  get lastId (): string | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i].id !== undefined) return this.frames[i].id
    return undefined
  }

  pause (): void { this.socket.pause() }
  resume (): void { this.socket.resume() }
  close (): void { this.socket.destroy() }

  private receive (chunk: Buffer): void {
    let data: Buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    this.pending = Buffer.alloc(0)
    if (this.inHead) {
      const end = data.indexOf('\r\n\r\n')
      if (end < 0) { this.pending = data; return }
      this.head = data.subarray(0, end).toString('latin1')
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.head)?.[1])
      this.inHead = false
      data = data.subarray(end + 4)
    }
    let at = 0
    while (at < data.length) {
      if (this.chunkLeft === -2) {
        if (data.length - at < 2) break
        at += 2
        this.chunkLeft = -1
      } else if (this.chunkLeft === -1) {
        const lineEnd = data.indexOf('\r\n', at)
        if (lineEnd < 0) break
        this.chunkLeft = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
        at = lineEnd + 2
        if (this.chunkLeft === 0) return // the last chunk
      } else {
        const take = Math.min(this.chunkLeft, data.length - at)
        this.text += this.decoder.write(data.subarray(at, at + take))
        at += take
        this.chunkLeft -= take
        if (this.chunkLeft === 0) this.chunkLeft = -2
      }
    }
    if (at < data.length) this.pending = Buffer.from(data.subarray(at))
    const { frames, rest } = parseFrames(this.text)
    this.text = rest
    for (const frame of frames) this.frames.push(frame)
  }
}
