/**
 * The in-memory broker: the embedded default for one process, no setup. Each topic keeps a bounded
 * history of its last events for resume (see BrokerOptions.historyBytes); a topic without subscribers is forgotten `historyTtlSeconds`
 * after its last event (its next event starts a new epoch, so old cursors are never misread).
 * A client that reconnects to another process cannot resume from here: use the Redis broker for that.
 */
import { Broker, newEpoch } from './broker.js'
import { EVENT_OVERHEAD_BYTES, HISTORY_PAGE, type BrokerHealth, type BrokerOptions, type PublishResult, type TopicHistory } from './contract.js'
import { BrokerMessage } from './message.js'

interface Retention { bytes: number, windowMs: number, count: number }

function costOf (message: BrokerMessage): number {
  return message.size + EVENT_OVERHEAD_BYTES
}

/**
 * A topic's history: a queue that grows as events come (issue 11 #14: a ring allocated whole up front cost
 * 8 KB per topic, 160 MB for 20,000 topics of one event). Kept: every event of the last window, and of
 * older events the newest `bytes` (see BrokerOptions.historyBytes); `count` caps it. `old` splits the
 * queue into older events [start, old) and those within the window [old, end); both ends only move
 * forward, so trimming is amortised O(1) per publish.
 */
class TopicLog {
  readonly epoch = newEpoch()
  head = 0
  lastEventAt = 0
  private items: Array<BrokerMessage | undefined> = []
  private start = 0
  private old = 0
  private oldBytes = 0

  add (message: BrokerMessage, retention: Retention): void {
    this.items.push(message)
    this.head = message.offset
    this.lastEventAt = message.time
    this.trim(message.time - retention.windowMs, retention)
  }

  private trim (cutoff: number, retention: Retention): void {
    const items = this.items
    while (this.old < items.length && (items[this.old] as BrokerMessage).time <= cutoff) this.oldBytes += costOf(items[this.old++] as BrokerMessage)
    while (this.start < this.old && this.oldBytes - costOf(items[this.start] as BrokerMessage) >= retention.bytes) this.drop()
    while (items.length - this.start > retention.count) this.drop()
    // Compact once the dropped half dominates: each kept event is copied O(1) times on average.
    if (this.start > 64 && this.start * 2 > items.length) {
      this.items = items.slice(this.start)
      this.old -= this.start
      this.start = 0
    }
  }

  private drop (): void {
    const message = this.items[this.start] as BrokerMessage
    if (this.start < this.old) this.oldBytes -= costOf(message)
    else this.old++
    this.items[this.start++] = undefined
  }

  /** Number of events kept. */
  get length (): number {
    return this.items.length - this.start
  }

  after (offset: number, limit: number): BrokerMessage[] {
    const out: BrokerMessage[] = []
    if (this.start >= this.items.length) return out
    const first = (this.items[this.start] as BrokerMessage).offset
    for (let i = this.start + Math.max(0, offset + 1 - first); i < this.items.length && out.length < limit; i++) out.push(this.items[i] as BrokerMessage)
    return out
  }
}

export class MemoryBroker extends Broker {
  readonly backend = 'memory'
  private readonly logs = new Map<string, TopicLog>()
  private readonly retention: Retention
  private sweeper: NodeJS.Timeout | undefined

  constructor (options: BrokerOptions = {}) {
    super(options)
    this.retention = { bytes: this.historyBytes, windowMs: this.historyWindowSeconds * 1000, count: this.historySize }
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

  // Atomic: every copy is stored before any is delivered.
  protected async append (topics: string[], event: string, json: string): Promise<PublishResult[]> {
    const time = this.publishTime()
    const messages = topics.map((topic) => {
      let log = this.logs.get(topic)
      if (log === undefined) {
        log = new TopicLog()
        this.logs.set(topic, log)
      }
      const message = new BrokerMessage(topic, log.epoch, log.head + 1, event, json, time, topics)
      log.add(message, this.retention)
      return message
    })
    for (const message of messages) this.receive(message)
    return messages.map((message) => ({ topic: message.topic, epoch: message.epoch, offset: message.offset }))
  }

  protected async listen (_topics: string[]): Promise<void> {}
  protected async unlisten (_topics: string[]): Promise<void> {}

  protected async positions (topics: string[]): Promise<Array<{ epoch: string, head: number }>> {
    return topics.map((topic) => {
      const log = this.logs.get(topic)
      return log === undefined ? { epoch: '', head: 0 } : { epoch: log.epoch, head: log.head }
    })
  }

  async history (topic: string, after: number, limit = HISTORY_PAGE): Promise<TopicHistory> {
    const log = this.logs.get(topic)
    return log === undefined ? { epoch: '', messages: [] } : { epoch: log.epoch, messages: log.after(after, limit) }
  }

  /** Events kept of a topic (tests measure retention with it). */
  historyLength (topic: string): number {
    return this.logs.get(topic)?.length ?? 0
  }

  /** Forgets topics nobody listens to whose last event is older than the retention. */
  private sweep (): void {
    const horizon = Date.now() - this.historyTtlSeconds * 1000
    for (const [topic, log] of this.logs) {
      if (log.lastEventAt < horizon && this.subscriberCount(topic) === 0) this.logs.delete(topic)
    }
  }
}
