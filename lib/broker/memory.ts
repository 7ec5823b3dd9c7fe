/**
 * The in-memory broker: the embedded default for one process, no setup. Each topic keeps a bounded
 * ring of its last events for resume; a topic without subscribers is forgotten `historyTtlSeconds`
 * after its last event (its next event starts a new epoch, so old cursors are never misread).
 * A client that reconnects to another process cannot resume from here: use the Redis broker for that.
 */
import { Broker, newEpoch, type BrokerHealth, type BrokerOptions, type PublishResult, type TopicHistory } from './broker.js'
import { BrokerMessage } from './message.js'

class TopicLog {
  readonly epoch = newEpoch()
  head = 0
  lastEventAt = 0
  private readonly ring: Array<BrokerMessage | undefined>

  constructor (size: number) {
    this.ring = new Array(size)
  }

  add (message: BrokerMessage): void {
    if (this.ring.length > 0) this.ring[message.offset % this.ring.length] = message
    this.head = message.offset
    this.lastEventAt = message.time
  }

  after (offset: number): BrokerMessage[] {
    const first = Math.max(offset + 1, this.head - this.ring.length + 1, 1)
    const out: BrokerMessage[] = []
    for (let i = first; i <= this.head; i++) out.push(this.ring[i % this.ring.length] as BrokerMessage)
    return out
  }
}

export class MemoryBroker extends Broker {
  readonly backend = 'memory'
  private readonly logs = new Map<string, TopicLog>()
  private sweeper: NodeJS.Timeout | undefined

  constructor (options: BrokerOptions = {}) {
    super(options)
  }

  async connect (): Promise<void> {
    if (this.sweeper !== undefined || this.historyTtlSeconds === 0) return
    const every = Math.min(60_000, this.historyTtlSeconds * 1000)
    this.sweeper = setInterval(() => this.sweep(), every)
    this.sweeper.unref()
  }

  override async close (): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
    await super.close()
  }

  health (): BrokerHealth {
    return this.closed
      ? { ok: false, backend: this.backend, detail: 'closed' }
      : { ok: true, backend: this.backend, detail: 'in-process' }
  }

  protected async append (topic: string, event: string, json: string): Promise<PublishResult> {
    let log = this.logs.get(topic)
    if (log === undefined) {
      log = new TopicLog(this.historySize)
      this.logs.set(topic, log)
    }
    const message = new BrokerMessage(topic, log.epoch, log.head + 1, event, json, this.publishTime())
    log.add(message)
    this.receive(message)
    return { topic, epoch: log.epoch, offset: message.offset }
  }

  protected async listen (_topics: string[]): Promise<void> {}
  protected async unlisten (_topics: string[]): Promise<void> {}

  protected async positions (topics: string[]): Promise<Array<{ epoch: string, head: number }>> {
    return topics.map((topic) => {
      const log = this.logs.get(topic)
      return log === undefined ? { epoch: '', head: 0 } : { epoch: log.epoch, head: log.head }
    })
  }

  async history (topic: string, after: number): Promise<TopicHistory> {
    const log = this.logs.get(topic)
    return log === undefined ? { epoch: '', messages: [] } : { epoch: log.epoch, messages: log.after(after) }
  }

  /** Forgets topics nobody listens to whose last event is older than the retention. */
  private sweep (): void {
    const horizon = Date.now() - this.historyTtlSeconds * 1000
    for (const [topic, log] of this.logs) {
      if (log.lastEventAt < horizon && this.subscriberCount(topic) === 0) this.logs.delete(topic)
    }
  }
}
