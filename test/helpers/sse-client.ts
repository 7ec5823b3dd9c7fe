/**
 * An independent reading of an event stream by the `eventsource` package (a spec-following EventSource):
 * every event it dispatches is recorded, so a test compares what a real client saw with what was yielded.
 */
import { EventSource } from 'eventsource'

export interface ReceivedEvent { type: string, data: string, lastEventId: string }

export interface SSEClientOptions {
  /** Event names to listen for besides `message` (EventSource dispatches each name to its own listeners). */
  types?: string[]
  headers?: Record<string, string>
}

export class SSEClient {
  readonly source: EventSource
  readonly events: ReceivedEvent[] = []
  /** Connection-level errors (not `event: error` frames, which are recorded in `events`). */
  connectionErrors = 0
  /** How many times the connection opened (a clean end makes EventSource reconnect). */
  opens = 0
  /** Resolves when the connection first opens. */
  readonly opened: Promise<void>
  private waiters: Array<{ count: number, resolve: (events: ReceivedEvent[]) => void }> = []

  constructor (url: string, options: SSEClientOptions = {}) {
    const headers = options.headers ?? {}
    this.source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } })
    })
    this.opened = new Promise((resolve) => {
      this.source.addEventListener('open', () => { this.opens++; resolve() })
    })
    const record = (event: MessageEvent) => {
      this.events.push({ type: event.type, data: event.data, lastEventId: event.lastEventId })
      this.waiters = this.waiters.filter((waiter) => {
        if (this.events.length < waiter.count) return true
        waiter.resolve(this.events.slice(0, waiter.count))
        return false
      })
    }
    for (const type of new Set(['message', ...(options.types ?? [])])) {
      this.source.addEventListener(type, (event: Event) => {
        // `error` is both a connection error (an ErrorEvent without data) and a possible event name.
        if (type === 'error' && !('data' in event)) { this.connectionErrors++; return }
        record(event as MessageEvent)
      })
    }
    if (!(options.types ?? []).includes('error')) this.source.addEventListener('error', () => { this.connectionErrors++ })
  }

  /** Resolves with the first `count` events once that many have arrived. */
  waitFor (count: number): Promise<ReceivedEvent[]> {
    if (this.events.length >= count) return Promise.resolve(this.events.slice(0, count))
    return new Promise((resolve) => { this.waiters.push({ count, resolve }) })
  }

  close (): void {
    this.source.close()
  }
}
