/**
 * The Redis broker (ioredis): many instances share topics through one Redis.
 *
 * - Publish: one Lua script per event (offset, capped stream, pub/sub) - history and live agree.
 * - Receive: one subscriber connection per process multiplexes every listened topic; the broker's
 *   reference counting SUBSCRIBEs a topic on its first local subscriber and UNSUBSCRIBEs on its last.
 * - Outages: the subscriber reconnects by itself; after every reconnect the broker resubscribes and
 *   reads what each topic missed from its stream, so connected clients lose nothing. A periodic probe
 *   (a publish the subscriber must see) finds a subscriber that is connected but deaf, and rebuilds it.
 * - A publish while Redis is unreachable waits for it at most `publishTimeoutMs`, then fails visibly
 *   (FVIEWS_ERR_BROKER_UNAVAILABLE, a 503): never a success whose event vanished.
 */
import { Redis, type RedisOptions } from 'ioredis'
import { FVIEWS_ERR_BROKER_UNAVAILABLE } from '../errors.js'
import { Broker, newEpoch, publishTime, type BrokerHealth, type BrokerOptions, type PublishResult, type TopicHistory } from './broker.js'
import { BrokerMessage } from './message.js'
import { channelOf, logKey, metaKey, parsePayload, PUBLISH_SCRIPT, topicOfChannel } from './redis-scripts.js'

export interface RedisBrokerOptions extends BrokerOptions {
  /** redis:// or rediss:// URL. */
  url: string
  /** How long a publish waits for an unreachable Redis before failing (default 2,000 ms). */
  publishTimeoutMs?: number
  /** Interval of the subscriber liveness probe (default 5,000 ms; 0 disables). */
  probeIntervalMs?: number
  /** Extra ioredis options for both connections. */
  redisOptions?: RedisOptions
}

type PublishingRedis = Redis & {
  fvPublish: (meta: string, log: string, epoch: string, maxlen: number, ttl: number, event: string, json: string, time: number, command: string, channel: string) => Promise<[string, number]>
}

// Batches keep a SUBSCRIBE of thousands of topics from building one huge command.
const SUBSCRIBE_BATCH = 500

function chunks<T> (items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export class RedisBroker extends Broker {
  readonly backend = 'redis'
  readonly publishTimeoutMs: number
  readonly probeIntervalMs: number
  private readonly publisher: PublishingRedis
  private subscriber: Redis
  private readonly subscriberOptions: RedisOptions
  private readonly url: string
  private readonly probeChannel: string
  private connectedOnce = false
  private probeTimer: NodeJS.Timeout | undefined
  private probeSent = 0
  private probeSeen = 0
  private deaf = false

  constructor (options: RedisBrokerOptions) {
    super(options)
    this.url = options.url
    this.publishTimeoutMs = options.publishTimeoutMs ?? 2000
    this.probeIntervalMs = options.probeIntervalMs ?? 5000
    this.probeChannel = `${this.topicPrefix}{fastify-views:probe}:${newEpoch()}`
    const common: RedisOptions = {
      lazyConnect: true,
      // Reconnect forever, quickly: an outage must cost latency only.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      // A command is either sent once or refused: a publish that may have run is never sent again.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      ...options.redisOptions
    }
    this.publisher = new Redis(this.url, { ...common, commandTimeout: this.publishTimeoutMs, connectionName: 'fastify-views:publisher' }) as PublishingRedis
    this.publisher.defineCommand('fvPublish', { numberOfKeys: 2, lua: PUBLISH_SCRIPT })
    this.publisher.on('error', (error) => this.log?.warn({ err: error }, 'redis broker: publisher connection error'))
    // Resubscribing is the broker's job (then it catches up from history), not ioredis'.
    this.subscriberOptions = { ...common, autoResubscribe: false, connectionName: 'fastify-views:subscriber' }
    this.subscriber = this.newSubscriber()
  }

  async connect (): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()])
    await this.subscriber.subscribe(this.probeChannel)
    if (this.probeIntervalMs > 0 && this.probeTimer === undefined) {
      this.probeTimer = setInterval(() => this.runProbe(), this.probeIntervalMs)
      this.probeTimer.unref()
    }
  }

  override async close (): Promise<void> {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer)
    this.probeTimer = undefined
    await super.close()
    await Promise.all([this.publisher, this.subscriber].map(async (connection) => {
      try { await connection.quit() } catch { connection.disconnect() }
    }))
  }

  health (): BrokerHealth {
    if (this.closed) return { ok: false, backend: this.backend, detail: 'closed' }
    if (this.publisher.status !== 'ready') return { ok: false, backend: this.backend, detail: `publisher ${this.publisher.status}` }
    if (this.subscriber.status !== 'ready') return { ok: false, backend: this.backend, detail: `subscriber ${this.subscriber.status}` }
    if (this.deaf) return { ok: false, backend: this.backend, detail: 'subscriber connected but not receiving; rebuilding it' }
    return { ok: true, backend: this.backend, detail: 'publisher and subscriber ready' }
  }

  protected async append (topic: string, event: string, json: string): Promise<PublishResult> {
    const deadline = Date.now() + this.publishTimeoutMs
    while (true) {
      try {
        const [epoch, offset] = await this.publisher.fvPublish(metaKey(this.topicPrefix, topic), logKey(this.topicPrefix, topic), newEpoch(),
          this.historySize, this.historyTtlSeconds, event, json, publishTime(), 'PUBLISH', channelOf(this.topicPrefix, topic))
        return { topic, epoch, offset: Number(offset) }
      } catch (error) {
        // Refused before it was sent (no connection): safe to try again until the deadline.
        if (this.notSent(error) && !this.closed && Date.now() < deadline) {
          await this.readyOrTimeout(deadline)
          continue
        }
        throw new FVIEWS_ERR_BROKER_UNAVAILABLE(`publishing to '${topic}' failed: ${(error as Error).message}`)
      }
    }
  }

  protected async listen (topics: string[]): Promise<void> {
    for (const batch of chunks(topics, SUBSCRIBE_BATCH)) await this.subscriber.subscribe(...batch.map((topic) => channelOf(this.topicPrefix, topic)))
  }

  protected async unlisten (topics: string[]): Promise<void> {
    if (this.subscriber.status !== 'ready') return
    for (const batch of chunks(topics, SUBSCRIBE_BATCH)) await this.subscriber.unsubscribe(...batch.map((topic) => channelOf(this.topicPrefix, topic)))
  }

  protected async positions (topics: string[]): Promise<Array<{ epoch: string, head: number }>> {
    return Promise.all(topics.map(async (topic) => {
      const [epoch, offset] = await this.publisher.hmget(metaKey(this.topicPrefix, topic), 'epoch', 'offset')
      return { epoch: epoch ?? '', head: Number(offset ?? 0) }
    }))
  }

  async history (topic: string, after: number): Promise<TopicHistory> {
    const replies = await this.publisher.multi()
      .hget(metaKey(this.topicPrefix, topic), 'epoch')
      .xrange(logKey(this.topicPrefix, topic), `(${after}-0`, '+', 'COUNT', this.historySize)
      .exec()
    if (replies === null) throw new FVIEWS_ERR_BROKER_UNAVAILABLE('history read aborted')
    for (const [error] of replies) if (error !== null) throw error
    const epoch = (replies[0][1] as string | null) ?? ''
    const entries = replies[1][1] as Array<[string, string[]]>
    return { epoch, messages: entries.map(([id, fields]) => this.messageOf(topic, epoch, id, fields)) }
  }

  private messageOf (topic: string, epoch: string, id: string, fields: string[]): BrokerMessage {
    let event = ''
    let json = 'null'
    let time = 0
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] === 'e') event = fields[i + 1]
      else if (fields[i] === 'd') json = fields[i + 1]
      else if (fields[i] === 't') time = Number(fields[i + 1])
    }
    return new BrokerMessage(topic, epoch, parseInt(id, 10), event, json, time)
  }

  private newSubscriber (): Redis {
    const subscriber = new Redis(this.url, this.subscriberOptions)
    subscriber.on('message', (channel: string, payload: string) => this.onMessage(channel, payload))
    subscriber.on('ready', () => { void this.onSubscriberReady(subscriber) })
    subscriber.on('error', (error) => this.log?.warn({ err: error }, 'redis broker: subscriber connection error'))
    return subscriber
  }

  private onMessage (channel: string, payload: string): void {
    if (channel === this.probeChannel) {
      this.probeSeen = Number(payload)
      this.deaf = false
      return
    }
    const parsed = parsePayload(payload)
    if (parsed === undefined) return
    this.receive(new BrokerMessage(topicOfChannel(this.topicPrefix, channel), parsed.epoch, parsed.offset, parsed.event, parsed.json, parsed.time))
  }

  /** After a reconnect: listen again, then read what every topic missed meanwhile. */
  private async onSubscriberReady (subscriber: Redis): Promise<void> {
    if (!this.connectedOnce) { this.connectedOnce = true; return }
    if (this.closed || subscriber !== this.subscriber) return
    this.stats.reconnects++
    try {
      await subscriber.subscribe(this.probeChannel)
      await this.listen(this.listenedTopics())
      this.log?.info({ topics: this.listenedTopics().length }, 'redis broker: subscriber reconnected; catching up from history')
      this.catchUpAll()
    } catch (error) {
      this.log?.warn({ err: error }, 'redis broker: resubscribing failed; it is retried on the next reconnect')
      subscriber.disconnect(true)
    }
  }

  /** The subscriber must see the previous probe; if not, it is deaf (Centrifugo #1189): rebuild it. */
  private runProbe (): void {
    if (this.closed) return
    if (this.probeSent > this.probeSeen && this.subscriber.status === 'ready') {
      this.deaf = true
      this.log?.warn('redis broker: the subscriber missed its probe; reconnecting it')
      this.subscriber.disconnect(true)
    }
    if (this.publisher.status !== 'ready') return
    const sent = Date.now()
    this.publisher.publish(this.probeChannel, String(sent)).then(() => { this.probeSent = sent }, () => {})
  }

  private notSent (error: unknown): boolean {
    // ioredis' words for a command refused while disconnected (enableOfflineQueue: false).
    return ((error as Error)?.message ?? '').includes("Stream isn't writeable")
  }

  private readyOrTimeout (deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.publisher.off('ready', done); resolve() }
      const timer = setTimeout(done, Math.max(0, Math.min(deadline - Date.now(), 100)))
      this.publisher.once('ready', done)
    })
  }
}
