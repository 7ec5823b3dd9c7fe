/** A real EventSource whose (re)connections a test can hold and send to another instance, as a load balancer would. */
import { EventSource } from 'eventsource'

/** A subscription through a real EventSource whose (re)connections can be held and sent to another instance. */
export class ResumingEventSource {
  readonly source: EventSource
  readonly events: Array<{ type: string, data: string, lastEventId: string }> = []
  /** Every connection attempt: the instance it went to and the Last-Event-ID it sent. */
  readonly connections: Array<{ base: string, lastEventId: string | undefined }> = []
  opens = 0
  errors = 0
  /** Where the next (re)connection goes: change it to emulate a load balancer moving the client. */
  base: string
  private gate: Promise<void> | undefined

  constructor (base: string, path: string, readonly name: string, headers: Record<string, string> = {}) {
    this.base = base
    this.source = new EventSource(`${base}${path}`, {
      fetch: async (input, init) => {
        await this.gate
        const url = new URL(String(input))
        const target = new URL(this.base)
        url.host = target.host
        const sent: Record<string, string> = { ...(init?.headers as Record<string, string>), ...headers, 'x-client': name }
        this.connections.push({ base: this.base, lastEventId: sent['Last-Event-ID'] })
        return fetch(url, { ...init, headers: sent })
      }
    })
    this.source.addEventListener('open', () => { this.opens++ })
    this.source.addEventListener('error', () => { this.errors++ })
    for (const type of ['note', 'subscribed', 'reset']) {
      this.source.addEventListener(type, (event: MessageEvent) => {
        this.events.push({ type, data: event.data, lastEventId: event.lastEventId })
      })
    }
  }

  /** Holds every (re)connection until the returned function is called. */
  hold (): () => void {
    let release!: () => void
    this.gate = new Promise<void>((resolve) => { release = resolve })
    return () => { this.gate = undefined; release() }
  }

  get notes (): Array<{ type: string, data: string, lastEventId: string }> { return this.events.filter((event) => event.type === 'note') }

  close (): void { this.source.close() }
}
