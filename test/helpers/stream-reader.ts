/** A subscription request read by undici, every frame parsed as it arrives, with bounded waits for events. */
import { Agent, request } from 'undici'
import { parseFrames, type Frame } from './sse-frames.js'

export const dispatcher = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 1000, connectTimeout: 10_000 })

/** One subscription request read by undici; every frame is parsed as it arrives. */
export class StreamReader {
  status = 0
  headers: Record<string, string | string[] | undefined> = {}
  readonly frames: Frame[] = []
  ended = false
  error: Error | undefined
  /** How many published events (not `subscribed` / `reset`) arrived. */
  publishedCount = 0
  private text = ''
  private body: { destroy: () => void } | undefined
  private waiters: Array<() => void> = []

  static async open (base: string, path: string, headers: Record<string, string> = {}): Promise<StreamReader> {
    const reader = new StreamReader()
    const response = await request(`${base}${path}`, { method: 'GET', headers, dispatcher })
    reader.status = response.statusCode
    reader.headers = response.headers
    reader.body = response.body
    response.body.setEncoding('utf8')
    response.body.on('data', (chunk: string) => {
      reader.text += chunk
      const { frames, rest } = parseFrames(reader.text)
      reader.text = rest
      for (const frame of frames) {
        reader.frames.push(frame)
        if (frame.event !== 'subscribed' && frame.event !== 'reset') reader.publishedCount++
      }
      if (frames.length > 0) reader.wake()
    })
    response.body.on('end', () => { reader.ended = true; reader.wake() })
    response.body.on('error', (error: Error) => { reader.error = error; reader.wake() })
    return reader
  }

  private wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Published events only (no `subscribed` / `reset`). */
  get published (): Frame[] { return this.frames.filter((frame) => frame.event !== 'subscribed' && frame.event !== 'reset') }

  /** The id of the last frame that carried one: the client's Last-Event-ID. */
  get lastId (): string | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i].id !== undefined) return this.frames[i].id
    return undefined
  }

  /** The body text so far (complete frames are parsed, the rest is kept here). */
  get pending (): string { return this.text }

  /** Resolves once `count` published events arrived; throws if the stream ends first or after `limitMs`. */
  async waitForPublished (count: number, what = 'events', limitMs = 10_000): Promise<void> {
    const deadline = Date.now() + limitMs
    while (this.publishedCount < count && !this.ended && this.error === undefined) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${limitMs} ms waiting until ${count} ${what} arrived (have ${this.publishedCount})`)
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left)
        this.waiters.push(resolve)
      })
      clearTimeout(timer)
    }
    if (this.publishedCount < count) throw new Error(`the stream ended after ${this.publishedCount} of ${count} ${what} (${this.error?.message ?? 'clean end'})`)
  }

  close (): void { this.body?.destroy() }
}
