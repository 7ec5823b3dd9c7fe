/**
 * How an event stream's bytes reach its client, one small adapter per HTTP version (as better-sse's
 * `adapters/`): the connection-specific response headers, the unsent byte count, and the one write per
 * turn of a stream's held frames. `EventStream` (stream.ts) decides what and when to write; only this
 * module knows how HTTP/1.1 chunks, HTTP/1.0 streams until close, and HTTP/2 frames its DATA itself.
 *
 * A turn's push writes are held per stream as a chain of frames (`HeldFrames`). Streams handed the same
 * frames in the same order in one turn - every subscriber of one topic, the common case - end on the same
 * chain node, so the frames are joined into one Buffer (and, on HTTP/1.1, framed as one chunk) once per
 * turn for all of them, and each stream writes that one Buffer: one socket write per stream per turn,
 * instead of one per event (~1M queued writes per burst at 10,000 clients, 27% of the time in GC).
 */
import type { ServerResponse } from 'node:http'
import type { FastifyRequest } from 'fastify'

/**
 * One turn's frames of a stream: this node's frame after its parent's. A node is shared by every stream
 * that was handed the same Buffers (by identity) in the same order since the turn's root; its joined
 * bytes are built once, on the first flush that needs them.
 */
export class HeldFrames {
  /** Bytes of every frame of the chain (what the byte budget counts while they are held). */
  readonly bytes: number
  private readonly parent: HeldFrames | undefined
  private readonly frame: Buffer | undefined
  /** The last chain continued from here (streams handed the same frames find it and share it). */
  private child: HeldFrames | undefined
  /** All frames as one HTTP/1.1 chunk (size line, frames, CRLF); `joined` is a view into it. */
  private framed: Buffer | undefined
  private start = 0

  constructor (parent?: HeldFrames, frame?: Buffer) {
    this.parent = parent
    this.frame = frame
    this.bytes = (parent?.bytes ?? 0) + (frame?.length ?? 0)
  }

  /** The chain with `frame` after this one: the node another stream already made for it, when there is one. */
  then (frame: Buffer): HeldFrames {
    const child = this.child
    if (child !== undefined && child.frame === frame) return child
    const next = new HeldFrames(this, frame)
    this.child = next
    return next
  }

  /** The frames, joined, as one HTTP/1.1 chunk (RFC 9112 §7.1: size in hex, CRLF, data, CRLF). */
  chunk (): Buffer {
    if (this.framed === undefined) this.build()
    return this.framed as Buffer
  }

  /** The frames, joined (for connections that frame the body themselves). */
  joined (): Buffer {
    if (this.framed === undefined) this.build()
    return (this.framed as Buffer).subarray(this.start, this.start + this.bytes)
  }

  private build (): void {
    const head = `${this.bytes.toString(16)}\r\n`
    const out = Buffer.allocUnsafe(head.length + this.bytes + 2)
    out.write(head, 0, 'latin1')
    let end = head.length + this.bytes
    out.write('\r\n', end, 'latin1')
    let frame = this.frame
    let parent = this.parent
    while (frame !== undefined) {
      end -= frame.length
      frame.copy(out, end)
      frame = parent?.frame
      parent = parent?.parent
    }
    this.start = head.length
    this.framed = out
  }
}

/** The response as far as a connection uses it: node:http's ServerResponse or HTTP/2's compatibility response. */
export type StreamResponse = Pick<ServerResponse, 'write' | 'end' | 'destroy' | 'writeHead' | 'once' | 'off' | 'on'> & {
  writableLength?: number
  writableNeedDrain?: boolean
  destroyed?: boolean
  stream?: { writableLength?: number }
  socket?: { destroySoon?: () => void, write?: (chunk: Buffer) => boolean } | null
}

// One object per HTTP version, not one per connection (they are copied into each head).
const CHUNKED_HEADERS: Readonly<Record<string, string>> = Object.freeze({ connection: 'keep-alive', 'transfer-encoding': 'chunked' })
const CLOSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ connection: 'close' })
const HTTP2_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

export interface Connection {
  /** Headers this HTTP version needs on an event stream (none on HTTP/2, which forbids them). */
  readonly headers: Readonly<Record<string, string>>
  /** Bytes written that the client has not taken yet. */
  unsentBytes (): number
  /** A turn's held frames, in one write. */
  writeHeld (held: HeldFrames): void
}

/**
 * What every adapter shares: the response, its unsent bytes (Node counts the socket's queue and the
 * response's own), and a turn's held frames written through the response, which frames them.
 */
abstract class ResponseConnection implements Connection {
  abstract readonly headers: Readonly<Record<string, string>>
  protected readonly response: StreamResponse

  constructor (response: StreamResponse) {
    this.response = response
  }

  unsentBytes (): number {
    return this.response.writableLength ?? 0
  }

  writeHeld (held: HeldFrames): void {
    this.response.write(held.joined())
  }
}

/**
 * HTTP/1.1: the head declares `transfer-encoding: chunked` itself (Node then frames `res.write()`s as
 * chunks, and ends with the last chunk), so the connection knows the framing without reading Node's
 * private `chunkedEncoding`. Held frames go to the socket as one ready chunk: the response's own chunked
 * write would cost four socket writes (size, CRLF, data, CRLF) and a copy of the size line per stream.
 * The socket is the response's while `response.socket` is set (Node assigns it when the response is the
 * one being sent - a pipelined one waits - and clears it when it finishes): no `socket._httpMessage`.
 */
class ChunkedConnection extends ResponseConnection {
  readonly headers = CHUNKED_HEADERS

  override writeHeld (held: HeldFrames): void {
    const socket = this.response.socket
    if (socket?.write !== undefined) socket.write(held.chunk())
    else this.response.write(held.joined())
  }
}

/**
 * HTTP/1.0 has no chunked encoding: the body is the bytes until the connection closes (RFC 9112 §6.3,
 * item 8), so the head says `connection: close` rather than promise a keep-alive it cannot keep.
 */
class CloseDelimitedConnection extends ResponseConnection {
  readonly headers = CLOSE_HEADERS
}

/**
 * HTTP/2 (the compatibility API): connection-specific headers are forbidden (RFC 9113 §8.2.2; Node warns
 * and drops them), the stream frames DATA itself, and unsent bytes are the HTTP/2 stream's.
 */
class Http2Connection extends ResponseConnection {
  readonly headers = HTTP2_HEADERS

  override unsentBytes (): number {
    return this.response.stream?.writableLength ?? 0
  }
}

/** The connection adapter for a request's HTTP version. */
export function connectionFor (request: FastifyRequest, response: StreamResponse): Connection {
  const { httpVersionMajor, httpVersionMinor } = request.raw
  if (httpVersionMajor === 2) return new Http2Connection(response)
  return httpVersionMinor === 0 ? new CloseDelimitedConnection(response) : new ChunkedConnection(response)
}
