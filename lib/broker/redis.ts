/**
 * The Redis broker (ioredis): many instances share topics through one Redis, standalone or Cluster.
 *
 * - Publish: one Lua script per event (offset, capped stream, pub/sub) - history and live agree. In a
 *   Cluster every key and the channel of a topic share the hash tag `{topic}`, so the script runs on the
 *   topic's shard and publishes with sharded pub/sub (SPUBLISH), which is not copied to every node.
 * - Receive: standalone, one subscriber connection per process multiplexes every listened topic; in a
 *   Cluster, one sharded-subscriber connection per master (SSUBSCRIBE). The broker's reference counting
 *   subscribes a topic on its first local subscriber and unsubscribes on its last.
 * - Outages: the subscriber reconnects by itself; after every reconnect the broker resubscribes and
 *   reads what each topic missed from its stream, so connected clients lose nothing. A periodic probe
 *   (a publish the subscriber must see) finds a standalone subscriber that is connected but deaf, and
 *   rebuilds it.
 * - A publish while Redis is unreachable waits for it at most `publishTimeoutMs`, then fails visibly
 *   (FVIEWS_ERR_BROKER_UNAVAILABLE, a 503, `published: false`): never a success whose event vanished.
 *   One that was sent but not answered is settled before the caller hears of it (append): never a
 *   failure whose event was delivered. A busy Redis is not a silent one: publishes in flight are bounded,
 *   and every window counts only time in which the connection answered nothing (listened-clock.ts).
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis'
import { FVIEWS_ERR_BROKER_CLOSED, FVIEWS_ERR_BROKER_UNAVAILABLE, FVIEWS_ERR_OPTION_INVALID } from '../errors.js'
import { Broker, newEpoch } from './broker.js'
import { HISTORY_PAGE, type BrokerHealth, type BrokerStats, type BrokerOptions, type PublishResult, type TopicHistory } from './contract.js'
import { keySlot } from './key-slot.js'
import { ListenedClock } from './listened-clock.js'
import { checkHistorySize } from './history-size.js'
import { malformation } from './incoming-message.js'
import { FENCE_SCRIPT, newPublishToken, parseRecord, publishTokenKey } from './redis-publish-token.js'
import { BrokerMessage } from './message.js'
import { ForeignScreen } from './foreign-screen.js'
import type { AnyTopicCatalog } from './catalog.js'
import { channelOf, logKey, metaKey, parsePayload, PUBLISH_SCRIPT, topicOfChannel } from './redis-scripts.js'

export interface RedisBrokerOptions<C extends AnyTopicCatalog | undefined = AnyTopicCatalog | undefined> extends BrokerOptions<C> {
  /** redis:// or rediss:// URL of a standalone Redis. */
  url?: string
  /** Startup nodes of a Redis Cluster (instead of `url`), e.g. `[{ host: '10.0.0.1', port: 7000 }]`. */
  cluster?: ClusterNode[]
  /** How long a publish waits for an unreachable Redis before failing (default 2,000 ms). */
  publishTimeoutMs?: number
  /** Interval of the subscriber liveness probe, standalone only (default 5,000 ms; 0 disables). */
  probeIntervalMs?: number
  /** Extra ioredis options for every connection. */
  redisOptions?: RedisOptions
  /** Extra ioredis Cluster options. */
  clusterOptions?: ClusterOptions
}

export interface RedisBrokerStats extends BrokerStats {
  /** Pub/sub messages skipped because this library could not have written them (garbage on the channel). */
  malformedMessages: number
  /**
   * With a topic catalog: events another publisher wrote that the catalog refuses (bad data, an event the
   * topic does not declare), not delivered; once per event per process (lib/broker/foreign-screen.ts).
   */
  refusedMessages: number
}

type Client = Redis | Cluster
type Publishing = Client & {
  /** numkeys, then KEYS and ARGV of PUBLISH_SCRIPT (redis-scripts.ts). */
  fvPublish: (...args: Array<string | number>) => Promise<Array<string | number>>
  fvFence: (token: string, fenceMs: number) => Promise<string>
}

type Settled<T> = { kind: 'late' } | { kind: 'answered', value: T } | { kind: 'failed', error: unknown }

/** A publish waiting for its place on the publisher connection. */
interface PublishWaiter {
  /** Listened time (ListenedClock) when it began to wait. */
  queued: number
  names: string
  grant: (started: number) => void
  refuse: (error: Error) => void
}

/**
 * Publishes on the publisher connection at once; more wait their turn in the broker. Enough to keep a
 * local Redis (tens of microseconds a script) and a remote one (a millisecond away) busy; few enough that
 * a history read on the same connection waits behind at most this many.
 */
const MAX_PUBLISHES_IN_FLIGHT = 1024

/**
 * The command's outcome, or `late` when it has none by `deadline`. A late command stays in ioredis'
 * queue and its reply, when it comes, is read and dropped in order - unlike a `commandTimeout`, which
 * made a publish that ran look failed.
 */
function settleWithin<T> (command: Promise<T>, deadline: number): Promise<Settled<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'late' }), Math.max(0, deadline - Date.now()))
    command.then((value) => { clearTimeout(timer); resolve({ kind: 'answered', value }) }, (error: unknown) => { clearTimeout(timer); resolve({ kind: 'failed', error }) })
  })
}

// Redis refusals that pass by themselves; the command did not run.
const TRANSIENT = /^(BUSY|LOADING|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)\b/
const TRANSIENT_RETRY_MS = 50

function isTransient (error: unknown): boolean {
  return isReplyError(error) && TRANSIENT.test((error as Error).message)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Redis itself answered with an error (the command reached it and did not run). */
function isReplyError (error: unknown): boolean {
  return (error as Error)?.name === 'ReplyError'
}

// Batches keep a SUBSCRIBE of thousands of topics from building one huge command.
const SUBSCRIBE_BATCH = 500
// ioredis reports a shard's subscriber ready after every reconnect attempt (about 100 a second while a
// master is down): catch-ups are spaced by this much.
const CATCH_UP_SPACING_MS = 250

function chunks<T> (items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Topics grouped by the hash slot of their keys (`{topic}`): one script may only touch one slot. */
function topicsBySlot (topics: string[]): string[][] {
  return bySlot(topics.map((topic) => `{${topic}}`)).map((group) => group.map((tagged) => tagged.slice(1, -1)))
}

/** Channels grouped by hash slot: one SSUBSCRIBE may only name channels of one slot. */
function bySlot (channels: string[]): string[][] {
  const groups = new Map<number, string[]>()
  for (const channel of channels) {
    const slot = keySlot(channel)
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, [channel])
    else group.push(channel)
  }
  return [...groups.values()]
}

export class RedisBroker<C extends AnyTopicCatalog | undefined = AnyTopicCatalog | undefined> extends Broker<C> {
  readonly backend: 'redis' | 'redis-cluster'
  readonly publishTimeoutMs: number
  readonly probeIntervalMs: number
  private readonly tokenRecordMs: number
  private readonly fenceMs: number
  private readonly publisher: Publishing
  private subscriber: Client
  private readonly options: RedisBrokerOptions<C>
  private readonly common: RedisOptions
  private readonly publishCommand: 'PUBLISH' | 'SPUBLISH'
  private readonly probeChannel: string
  private connectedOnce = false
  private probeTimer: NodeJS.Timeout | undefined
  private retentionTimer: NodeJS.Timeout | undefined
  private refreshingRetention = false
  private publisherRenewedAt = 0
  private publisherReadyBefore = false
  private publisherReady: Promise<void> | undefined
  /** Topics whose messages wait while a claimed epoch change is read from Redis (in arrival order). */
  private readonly epochChecks = new Map<string, Array<{ message: BrokerMessage, payload: string }>>()
  private probeSent = 0
  private probeSeen = 0
  private deaf = false
  private probeArmed = false
  private catchUpTimer: NodeJS.Timeout | undefined
  private lastCatchUp = 0
  private errorsLogged = 0
  /** The publisher connection's silence, in time this process listened (see listened-clock.ts). */
  private readonly clock: ListenedClock
  /** Publishes holding a place on the publisher connection, and those waiting for one (from waitingHead). */
  private inFlight = 0
  private readonly waiting: PublishWaiter[] = []
  private waitingHead = 0
  // The base class creates the stats object; this backend adds its own counter to it.
  declare readonly stats: RedisBrokerStats
  /** With a catalog: checks what other publishers wrote, once per event (foreign-screen.ts). */
  private readonly screen: ForeignScreen | undefined

  constructor (options: RedisBrokerOptions<C>) {
    checkHistorySize(options.historySize)
    super(options)
    this.stats.malformedMessages = 0
    this.stats.refusedMessages = 0
    this.screen = this.catalog === undefined ? undefined : new ForeignScreen(this.catalog, this.stats, () => this.log)
    if ((options.url === undefined) === (options.cluster === undefined)) {
      throw options.url === undefined
        ? new FVIEWS_ERR_OPTION_INVALID('url', "RedisBroker needs 'url' (standalone) or 'cluster' (startup nodes)")
        : new FVIEWS_ERR_OPTION_INVALID('cluster', "RedisBroker takes either 'url' (standalone) or 'cluster' (startup nodes), not both")
    }
    this.options = options
    this.backend = options.cluster === undefined ? 'redis' : 'redis-cluster'
    this.publishCommand = options.cluster === undefined ? 'PUBLISH' : 'SPUBLISH'
    this.publishTimeoutMs = options.publishTimeoutMs ?? 2000
    // Eight ticks a window: a silent connection is found within an eighth of a window of its end.
    this.clock = new ListenedClock(Math.max(10, Math.floor(this.publishTimeoutMs / 8)))
    this.probeIntervalMs = options.cluster === undefined ? options.probeIntervalMs ?? 5000 : 0
    this.probeChannel = `${this.topicPrefix}{fastify-views:probe}:${newEpoch()}`
    this.common = {
      lazyConnect: true,
      // Reconnect forever, quickly: an outage must cost latency only.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      // A command is either sent once or refused: a publish that may have run is never sent again.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      ...options.redisOptions
    }
    // A token record must outlive every re-send and settlement of its publish (3 x publishTimeoutMs);
    // a fence, any late arrival of the fenced command's bytes.
    this.tokenRecordMs = 3 * this.publishTimeoutMs + 1000
    this.fenceMs = Math.max(60_000, 10 * this.publishTimeoutMs)
    // No ioredis commandTimeout: publishes settle themselves (append), reads have their own bound (read).
    this.publisher = this.client('publisher') as Publishing
    this.publisher.defineCommand('fvPublish', { lua: PUBLISH_SCRIPT })
    this.publisher.defineCommand('fvFence', { numberOfKeys: 1, lua: FENCE_SCRIPT })
    this.publisher.on('error', (error: Error) => this.logError('publisher', error))
    // History is read on the publisher connection: a catch-up that failed while it was down left events
    // held until the topic's next event (forever, on a quiet topic). Once it is back, catch up again.
    this.publisher.on('ready', () => {
      if (this.publisherReadyBefore && !this.closed) this.catchUpAll()
      this.publisherReadyBefore = true
    })
    this.subscriber = this.newSubscriber()
  }

  async connect (): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()])
    if (this.historyTtlSeconds > 0 && this.retentionTimer === undefined) {
      // Three refreshes per retention period: one may fail (Redis briefly away) and the keys still live.
      this.retentionTimer = setInterval(() => { void this.keepListenedAlive() }, Math.max(250, this.historyTtlSeconds * 1000 / 3))
      this.retentionTimer.unref()
    }
    if (this.probeIntervalMs > 0) {
      await (this.subscriber as Redis).subscribe(this.probeChannel)
      this.armProbe()
      if (this.probeTimer === undefined) {
        this.probeTimer = setInterval(() => this.runProbe(), this.probeIntervalMs)
        this.probeTimer.unref()
      }
    }
  }

  override async close (): Promise<void> {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer)
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer)
    this.retentionTimer = undefined
    if (this.catchUpTimer !== undefined) clearTimeout(this.catchUpTimer)
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

  /**
   * One script for all topics on standalone Redis (atomic); in a Cluster one per hash slot, concurrently:
   * atomic only among topics that share a slot. Every copy carries the whole topic list either way, so a
   * client subscribed to several of them still gets the event once.
   */
  protected async append (topics: string[], event: string, json: string): Promise<PublishResult[]> {
    const time = this.publishTime()
    const list = topics.length > 1 ? topics.join(',') : ''
    const groups = this.options.cluster === undefined || topics.length === 1 ? [topics] : topicsBySlot(topics)
    // Its copies come back through pub/sub, maybe before the reply: the screen knows them, and does not check them again.
    const screen = this.screen
    screen?.publishing(time, topics, event, json)
    let results: PublishResult[][]
    try {
      results = await Promise.all(groups.map((group) => this.appendGroup(group, event, json, time, list)))
    } catch (error) {
      screen?.published(time, undefined, this.listening)
      throw error
    }
    screen?.published(time, results.flat(), this.listening)
    const byTopic = new Map(results.flat().map((result) => [result.topic, result]))
    return topics.map((topic) => byTopic.get(topic) as PublishResult)
  }

  /**
   * One publish (of one hash slot's topics), settled before the caller hears of it. It first waits for one
   * of MAX_PUBLISHES_IN_FLIGHT places on the connection (publishSlot): a wait that is the caller's own
   * burst, not Redis' silence. Its clock starts there, and every window below counts time in which the
   * connection answered nothing at all (answerWithin), so a publish queued behind thousands of others on a
   * busy Redis is never taken for a lost one. Not sent (no connection): retried until `publishTimeoutMs`,
   * then "not published". Sent but unanswered (a late reply, a connection that died with it in flight):
   * the same publish - same token, so it runs at most once - is awaited or sent again for another
   * `publishTimeoutMs`; if Redis is still silent, the connection is renewed and a fence settles the
   * outcome (published, or never will be). Only when even that gets no answer within a third
   * `publishTimeoutMs` is the outcome reported unknown.
   */
  private async appendGroup (topics: string[], event: string, json: string, time: number, list: string): Promise<PublishResult[]> {
    const names = topics.join(',')
    // The token's key shares the hash tag of the group's first topic: one slot for the whole script.
    const tokenKey = publishTokenKey(this.topicPrefix, topics[0], newPublishToken())
    const args: Array<string | number> = [1 + topics.length * 2, tokenKey]
    for (const topic of topics) args.push(metaKey(this.topicPrefix, topic), logKey(this.topicPrefix, topic))
    args.push(newEpoch(), this.historySize, this.historyTtlSeconds, event, json, time, this.publishCommand,
      this.historyBytes, this.historyWindowSeconds * 1000, list, this.tokenRecordMs)
    for (const topic of topics) args.push(channelOf(this.topicPrefix, topic))
    // Replies of one connection come in order: in a Cluster, each master answers for its own slots (1 + slot; 0 is standalone).
    const node = this.options.cluster === undefined ? 0 : 1 + keySlot(tokenKey)
    const slot = this.publishSlot(names)
    const from = typeof slot === 'number' ? slot : await slot
    // The clock runs while a publish is being sent or settled.
    const release = this.clock.watch(() => false)
    try {
      let outcome: PublishResult[] | undefined
      try {
        outcome = await this.send(topics, names, args, node, from)
      } finally {
        this.releaseSlot()
      }
      return outcome ?? await this.settle(topics, tokenKey, node, from)
    } finally {
      release()
    }
  }

  /**
   * Sends the publish script; its results, or undefined when it may have run unanswered (settle it).
   * `from` is listened time (ListenedClock): when the publish got its place on the connection.
   */
  private async send (topics: string[], names: string, args: Array<string | number>, node: number, from: number): Promise<PublishResult[] | undefined> {
    const timeout = this.publishTimeoutMs
    const clock = this.clock
    // Not sent: bounded from its start. Sent: bounded by the connection's silence, which answers to other commands end.
    const unsentLeft = (): number => timeout - (clock.now() - from)
    const settleLeft = (): number => 2 * timeout - (clock.now() - Math.max(from, clock.mark(node)))
    let maybeSent = false
    let refused: unknown
    let busy = false
    // Sent at least once: a publish that waited for its place through an outage still tries the connection.
    let first = true
    while (!this.closed && (first || (maybeSent ? settleLeft() : unsentLeft()) > 0)) {
      first = false
      const reply = await this.answerWithin(this.publisher.fvPublish(...args), node, from, 2 * timeout)
      if (reply.kind === 'late') { maybeSent = true; break }
      if (reply.kind === 'answered') {
        const results = topics.map((topic, i) => ({ topic, epoch: String(reply.value[2 * i]), offset: Number(reply.value[2 * i + 1]) }))
        // Offset 0: this token was fenced off by an earlier settlement (not reached today; kept exact).
        if (results[0].offset === 0) throw this.notPublished(names, `Redis did not answer within ${2 * timeout} ms`)
        return results
      }
      const error = reply.error
      if (isTransient(error)) {
        // Refused for now (a long script, a dataset loading): it did not run, so it may be sent again.
        busy = true
        await sleep(TRANSIENT_RETRY_MS)
        continue
      }
      if (isReplyError(error)) {
        // Redis answered with an error: this attempt did not run. An earlier one might have.
        refused = error
        this.log?.error({ err: error, topics: names }, 'redis broker: Redis refused the publish script')
        if (!maybeSent) throw this.notPublished(names, 'Redis refused the publish script (see the log)')
        break
      }
      if (!this.notSent(error)) maybeSent = true
      await this.readyOrTimeout(Date.now() + Math.max(0, maybeSent ? settleLeft() : unsentLeft()))
    }
    if (!maybeSent) {
      if (this.closed) throw new FVIEWS_ERR_BROKER_CLOSED()
      throw this.notPublished(names, busy ? `Redis stayed busy (a long script, or loading its data) for ${timeout} ms` : `Redis could not be reached within ${timeout} ms`)
    }
    if (refused === undefined && !this.closed) this.renewPublisher(names, node)
    return undefined
  }

  /**
   * The outcome of a command on the publisher connection, or `late` once the connection has answered
   * nothing - neither this command nor any other of `node` - for `windowMs` of listened time since `from`
   * (ListenedClock). A late command stays in ioredis' queue and its reply, when it comes, is read and
   * dropped in order - unlike a `commandTimeout`, which made a publish that ran look failed. Measured
   * from the last answer, not from the call: 40,000 publishes at once through a busy Redis had their last
   * ones reported unknown (and the connection renewed under them) while Redis answered the others steadily.
   */
  private answerWithin<T> (command: Promise<T>, node: number, from: number, windowMs: number): Promise<Settled<T>> {
    const clock = this.clock
    return new Promise((resolve) => {
      const unwatch = clock.watch((now) => {
        if (now - Math.max(from, clock.mark(node)) < windowMs) return false
        resolve({ kind: 'late' })
        return true
      })
      command.then((value) => {
        unwatch()
        clock.heard(node)
        resolve({ kind: 'answered', value })
      }, (error: unknown) => {
        unwatch()
        // A ReplyError is Redis answering; a connection error is not.
        if (isReplyError(error)) clock.heard(node)
        resolve({ kind: 'failed', error })
      })
    })
  }

  /**
   * A place among the publishes in flight: at once (the listened time) when one is free and none waits,
   * else in turn (FIFO, so publishes still reach Redis in the order they were made). Without the bound, a
   * burst of 40,000 sat in ioredis' queue, where the last ones waited seconds behind the first - and a
   * history read on the same connection waited behind all of them. A waiting publish fails as not
   * published (it was never sent) only when the connection answered nothing for `publishTimeoutMs` meanwhile.
   */
  private publishSlot (names: string): number | Promise<number> {
    if (this.inFlight < MAX_PUBLISHES_IN_FLIGHT && this.waiting.length === this.waitingHead) {
      this.inFlight++
      return this.clock.now()
    }
    return new Promise((grant, refuse) => {
      if (this.waiting.length === this.waitingHead) this.clock.watch(this.sweepWaiting)
      this.waiting.push({ queued: this.clock.now(), names, grant, refuse })
    })
  }

  /** Hands the place to the next waiting publish, its clock starting at the later of its queueing and Redis' last answer. */
  private releaseSlot (): void {
    const next = this.nextWaiting()
    if (next === undefined) { this.inFlight--; return }
    next.grant(Math.max(next.queued, this.clock.mark(0)))
  }

  private nextWaiting (): PublishWaiter | undefined {
    if (this.waitingHead === this.waiting.length) return undefined
    const next = this.waiting[this.waitingHead]
    this.waiting[this.waitingHead++] = undefined as unknown as PublishWaiter
    // Compacted now and then, so a long burst does not keep every waiter it ever had.
    if (this.waitingHead === this.waiting.length) { this.waiting.length = 0; this.waitingHead = 0 } else if (this.waitingHead >= 4096 && this.waitingHead * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.waitingHead)
      this.waitingHead = 0
    }
    return next
  }

  /** Each tick while publishes wait for a place: those that waited through a whole silent window fail, oldest first. */
  private readonly sweepWaiting = (now: number): boolean => {
    const timeout = this.publishTimeoutMs
    while (this.waitingHead < this.waiting.length) {
      const oldest = this.waiting[this.waitingHead]
      if (!this.closed && now - Math.max(oldest.queued, this.clock.mark(0)) < timeout) return false
      this.nextWaiting()
      oldest.refuse(this.closed
        ? new FVIEWS_ERR_BROKER_CLOSED()
        : this.notPublished(oldest.names, `it waited to be sent while Redis answered nothing for ${timeout} ms`))
    }
    return true
  }

  /**
   * Silent for the whole window: a connection that answers nothing for that long is wedged. A connection
   * that still answers other commands is busy, not wedged, and is left alone: renewing it would fail every
   * command in flight on it. A burst stalled on it reaches this point all at once: it is renewed once, not
   * once per publish (each renewal would abort the reconnect of the one before).
   */
  private renewPublisher (topic: string, node: number): void {
    if (this.publisher.status !== 'ready' || Date.now() - this.publisherRenewedAt < this.publishTimeoutMs) return
    const silentMs = this.clock.now() - this.clock.mark(node)
    if (silentMs < this.publishTimeoutMs) return
    this.publisherRenewedAt = Date.now()
    this.log?.warn({ topic, silentMs }, 'redis broker: the publisher connection did not answer; renewing it')
    this.publisher.disconnect(true)
  }

  /** Fences a publish that may have run: its record if it did; otherwise it never will. */
  private async settle (topics: string[], tokenKey: string, node: number, from: number): Promise<PublishResult[]> {
    const topic = topics.join(',')
    const window = 3 * this.publishTimeoutMs
    const clock = this.clock
    const left = (): number => window - (clock.now() - Math.max(from, clock.mark(node)))
    while (!this.closed && left() > 0) {
      if (this.publisher.status !== 'ready') { await this.readyOrTimeout(Date.now() + left()); continue }
      const reply = await this.answerWithin(this.publisher.fvFence(tokenKey, this.fenceMs), node, from, window)
      if (reply.kind === 'late') break
      if (reply.kind === 'failed') {
        this.log?.warn({ err: reply.error, topic }, 'redis broker: settling an unanswered publish failed')
        if (isReplyError(reply.error)) break
        await this.readyOrTimeout(Date.now() + Math.max(0, left()))
        continue
      }
      const record = parseRecord(reply.value)
      if (record[0].offset === 0) throw this.notPublished(topic, `Redis did not answer within ${2 * this.publishTimeoutMs} ms`)
      return topics.map((name, i) => ({ topic: name, epoch: record[i].epoch, offset: record[i].offset }))
    }
    const error = new FVIEWS_ERR_BROKER_UNAVAILABLE(`publishing to '${topic}' is unconfirmed: Redis did not answer within ${3 * this.publishTimeoutMs} ms; the event may have been published`)
    return Promise.reject(Object.assign(error, { published: 'unknown' as const }))
  }

  private notPublished (topic: string, why: string): Error {
    const error = new FVIEWS_ERR_BROKER_UNAVAILABLE(`publishing to '${topic}' failed: ${why}; the event was not published`)
    return Object.assign(error, { published: false as const })
  }

  protected async listen (topics: string[]): Promise<void> {
    try {
      await this.setListening(topics, true)
    } catch (error) {
      throw this.readFailed(`subscribing to ${topics.length} topic(s)`, error)
    }
  }

  /** A read on the publisher connection, bounded by publishTimeoutMs, failing in the library's words. */
  private async read<T> (what: string, command: Promise<T>): Promise<T> {
    const reply = await settleWithin(command, Date.now() + this.publishTimeoutMs)
    if (reply.kind === 'answered') return reply.value
    if (reply.kind === 'late') throw new FVIEWS_ERR_BROKER_UNAVAILABLE(`${what}: Redis did not answer within ${this.publishTimeoutMs} ms`)
    throw this.readFailed(what, reply.error)
  }

  /**
   * Backend errors leave in the library's words; the raw text (`CROSSSLOT ...`, ioredis' connection
   * messages) goes to the log only, so a 503 never shows clients how Redis is set up.
   */
  private readFailed (what: string, error: unknown): Error {
    if ((error as { code?: string })?.code?.startsWith('FVIEWS_') === true) return error as Error
    this.log?.warn({ err: error }, `redis broker: ${what} failed`)
    return new FVIEWS_ERR_BROKER_UNAVAILABLE(`${what}: ${isReplyError(error) ? 'Redis refused the command (see the log)' : 'Redis is unreachable'}`)
  }

  protected async unlisten (topics: string[]): Promise<void> {
    if (this.subscriber.status === 'ready') await this.setListening(topics, false)
  }

  /**
   * A topic's keys expire `historyTtlSeconds` after its last event - unless an instance listens to it:
   * each instance pushes the expiry of its listened topics forward, well inside the period. Otherwise a
   * quiet topic lost its history under connected clients, and its next event reset all of them
   * (epoch-changed) though nothing was lost. EXPIRE never creates a key, so a topic without events stays
   * without keys; a topic nobody listens to any more expires one period after the last refresh.
   * (The publish script reading PUBSUB NUMSUB would not do: nothing runs once a topic falls quiet.)
   */
  private async keepListenedAlive (): Promise<void> {
    if (this.closed || this.refreshingRetention || this.publisher.status !== 'ready') return
    this.refreshingRetention = true
    try {
      const ttl = this.historyTtlSeconds
      for (const batch of chunks(this.listenedTopics(), SUBSCRIBE_BATCH)) {
        const keys = batch.flatMap((topic) => [metaKey(this.topicPrefix, topic), logKey(this.topicPrefix, topic)])
        // A Cluster routes each key to its shard; standalone, one pipeline (one round trip) per batch.
        const done: Promise<unknown> = this.publisher instanceof Cluster
          ? Promise.all(keys.map((key) => this.publisher.expire(key, ttl)))
          : this.publisher.pipeline(keys.map((key) => ['expire', key, ttl])).exec()
        await this.read(`refreshing the retention of ${batch.length} topic(s)`, done)
      }
    } catch (error) {
      this.logError('publisher', error as Error)
    } finally {
      this.refreshingRetention = false
    }
  }

  /** (Un)subscribes the topics' channels: sharded and one slot per command in a Cluster, in batches otherwise. */
  private async setListening (topics: string[], on: boolean): Promise<void> {
    const channels = topics.map((topic) => channelOf(this.topicPrefix, topic))
    const subscriber = this.subscriber
    if (subscriber instanceof Cluster) {
      await Promise.all(bySlot(channels).map((group) => on ? subscriber.ssubscribe(...group) : subscriber.sunsubscribe(...group)))
    } else {
      for (const batch of chunks(channels, SUBSCRIBE_BATCH)) await (on ? subscriber.subscribe(...batch) : subscriber.unsubscribe(...batch))
    }
  }

  protected async positions (topics: string[]): Promise<Array<{ epoch: string, head: number }>> {
    return this.read(`reading the position of ${topics.length} topic(s)`, Promise.all(topics.map(async (topic) => {
      const [epoch, offset] = await this.publisher.hmget(metaKey(this.topicPrefix, topic), 'epoch', 'offset')
      return { epoch: epoch ?? '', head: Number(offset ?? 0) }
    })))
  }

  async history (topic: string, after: number, limit = HISTORY_PAGE): Promise<TopicHistory> {
    // One transaction on the topic's shard (both keys share its hash tag): epoch and events agree.
    const what = `reading the history of '${topic}'`
    const replies = await this.read(what, this.publisher.multi()
      .hget(metaKey(this.topicPrefix, topic), 'epoch')
      .xrange(logKey(this.topicPrefix, topic), `(${after}-0`, '+', 'COUNT', limit)
      .exec())
    if (replies === null) throw new FVIEWS_ERR_BROKER_UNAVAILABLE(`${what}: the transaction was aborted`)
    for (const [error] of replies) if (error !== null) throw this.readFailed(what, error)
    const epoch = (replies[0][1] as string | null) ?? ''
    const entries = replies[1][1] as Array<[string, string[]]>
    const screen = this.screen
    return { epoch, messages: entries.map(([id, fields]) => screen === undefined ? this.messageOf(topic, epoch, id, fields) : screen.screen(this.messageOf(topic, epoch, id, fields))) }
  }

  private client (role: string, extra: RedisOptions = {}): Client {
    const options = this.options
    if (options.cluster === undefined) return new Redis(options.url as string, { ...this.common, ...extra, connectionName: `fastify-views:${role}` })
    return new Cluster(options.cluster, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      ...options.clusterOptions,
      // One sharded-subscriber connection per master; without it SSUBSCRIBE to another node's slots
      // never settles (see the ioredis Cluster source, ClusterSubscriberGroup).
      ...(role === 'subscriber' ? { shardedSubscribers: true } : {}),
      redisOptions: { ...this.common, ...extra, connectionName: `fastify-views:${role}`, ...options.clusterOptions?.redisOptions }
    })
  }

  private messageOf (topic: string, epoch: string, id: string, fields: string[]): BrokerMessage {
    let event = ''
    let json = 'null'
    let time = 0
    let topics: string[] | undefined
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] === 'e') event = fields[i + 1]
      else if (fields[i] === 'd') json = fields[i + 1]
      else if (fields[i] === 't') time = Number(fields[i + 1])
      else if (fields[i] === 'p') topics = fields[i + 1].split(',')
    }
    return new BrokerMessage(topic, epoch, parseInt(id, 10), event, json, time, topics)
  }

  private newSubscriber (): Client {
    if (this.options.cluster !== undefined) {
      const cluster = this.client('subscriber') as Cluster
      cluster.on('smessage', (channel: string, payload: string) => this.onMessage(channel, payload))
      // ioredis resubscribes each shard by itself; this says a shard's subscription came back, so what
      // it missed meanwhile is read from history.
      cluster.on('subscribersReady', () => this.onClusterSubscribersReady())
      cluster.on('error', (error: Error) => this.logError('subscriber', error))
      return cluster
    }
    // Resubscribing is the broker's job here (then it catches up from history), not ioredis'.
    const subscriber = new Redis(this.options.url as string, { ...this.common, autoResubscribe: false, connectionName: 'fastify-views:subscriber' })
    subscriber.on('message', (channel: string, payload: string) => this.onMessage(channel, payload))
    subscriber.on('ready', () => { void this.onSubscriberReady(subscriber) })
    subscriber.on('close', () => { this.probeArmed = false })
    subscriber.on('error', (error: Error) => this.logError('subscriber', error))
    return subscriber
  }

  /** Connection errors repeat on every reconnect attempt (a hundred a second in a Cluster): log a few. */
  private logError (role: string, error: Error): void {
    this.errorsLogged++
    if (this.errorsLogged <= 10 || this.errorsLogged % 1000 === 0) {
      this.log?.warn({ err: error, occurrences: this.errorsLogged }, `redis broker: ${role} connection error`)
    }
  }

  private onMessage (channel: string, payload: string): void {
    if (channel === this.probeChannel) {
      this.probeSeen = Number(payload)
      this.deaf = false
      return
    }
    const parsed = parsePayload(payload)
    if (parsed === undefined) return this.skipMalformed(channel, payload, 'the payload lacks its fields')
    // A copy of a publish to several topics lists them all, its own among them; a list of one is never written.
    if (parsed.topics !== undefined && (parsed.topics.length < 2 || !parsed.topics.includes(topicOfChannel(this.topicPrefix, channel)))) return this.skipMalformed(channel, payload, 'its topic list does not name its own topic')
    const message = new BrokerMessage(topicOfChannel(this.topicPrefix, channel), parsed.epoch, parsed.offset, parsed.event, parsed.json, parsed.time, parsed.topics)
    // Only messages of topics listened to here are checked: the rest is dropped by receive() unread.
    if (!this.listensTo(message.topic)) return
    const problem = malformation(message)
    if (problem !== undefined) return this.skipMalformed(channel, payload, problem)
    const waiting = this.epochChecks.get(message.topic)
    if (waiting !== undefined) { waiting.push({ message, payload }); return }
    const state = this.topics.get(message.topic)
    if (state !== undefined && state.ready && state.epoch !== '' && message.epoch !== state.epoch) {
      // Another epoch resets every client of the topic: take it from Redis, not from the channel.
      this.epochChecks.set(message.topic, [{ message, payload }])
      void this.checkEpoch(message.topic)
      return
    }
    this.deliverChecked(message, payload)
  }

  /**
   * Reads the topic's epoch; the messages that came meanwhile (held in order) are then delivered, except
   * those of an epoch Redis does not have (forged: skipped). If Redis cannot be read, they are trusted,
   * as before the check: a real epoch change must not be lost to an outage.
   */
  private async checkEpoch (topic: string): Promise<void> {
    let actual: string | null | undefined
    try {
      actual = await this.read(`reading the epoch of '${topic}'`, this.publisher.hget(metaKey(this.topicPrefix, topic), 'epoch'))
    } catch {
      actual = undefined
    }
    const queued = this.epochChecks.get(topic) ?? []
    this.epochChecks.delete(topic)
    const current = this.topics.get(topic)?.epoch
    for (const { message, payload } of queued) {
      const known = actual === undefined || message.epoch === actual || message.epoch === current
      if (!known) this.skipMalformed(channelOf(this.topicPrefix, topic), payload, `the epoch '${message.epoch}' is not the topic's`)
      else this.deliverChecked(message, payload)
    }
  }

  private deliverChecked (message: BrokerMessage, payload: string): void {
    try {
      this.receive(this.screen === undefined ? message : this.screen.screen(message))
    } catch (error) {
      // Never reached for a checked message; a throw here would otherwise escape into ioredis' parser
      // and end the process.
      this.skipMalformed(channelOf(this.topicPrefix, message.topic), payload, `delivering it failed: ${(error as Error).message}`)
    }
  }

  private listensTo (topic: string): boolean {
    return this.topics.get(topic)?.listening === true
  }

  private readonly listening = (topic: string): boolean => this.listensTo(topic)

  /** Counted always, logged rate-limited: a flood of garbage must not flood the log. */
  private skipMalformed (channel: string, payload: string, problem: string): void {
    const count = ++this.stats.malformedMessages
    if (count <= 10 || count % 1000 === 0) {
      this.log?.warn({ channel: channel.slice(0, 200), payload: payload.slice(0, 200), problem, occurrences: count }, 'redis broker: malformed message skipped')
    }
  }

  /** After a reconnect: listen again, then read what every topic missed meanwhile. */
  private async onSubscriberReady (subscriber: Redis): Promise<void> {
    if (!this.connectedOnce) { this.connectedOnce = true; return }
    if (this.closed || subscriber !== this.subscriber) return
    this.stats.reconnects++
    try {
      if (this.probeIntervalMs > 0) {
        await subscriber.subscribe(this.probeChannel)
        this.armProbe()
      }
      await this.listen(this.listenedTopics())
      this.log?.info({ topics: this.listenedTopics().length }, 'redis broker: subscriber reconnected; catching up from history')
      this.catchUpAll()
    } catch (error) {
      this.log?.warn({ err: error }, 'redis broker: resubscribing failed; it is retried on the next reconnect')
      subscriber.disconnect(true)
    }
  }

  /**
   * A Cluster shard's subscriber came back (or tried to: ioredis says so after failed attempts too).
   * Catch up now, spaced, and once more shortly after: the resubscription is confirmed after this event,
   * and an event published in between is found by the second read (or by the next event's gap).
   */
  private onClusterSubscribersReady (): void {
    if (!this.connectedOnce) { this.connectedOnce = true; return }
    if (this.closed || this.catchUpTimer !== undefined) return
    this.stats.reconnects++
    const wait = Math.max(0, this.lastCatchUp + CATCH_UP_SPACING_MS - Date.now())
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = undefined
      this.lastCatchUp = Date.now()
      this.catchUpAll()
      setTimeout(() => { if (!this.closed) this.catchUpAll() }, 1000).unref()
    }, wait)
    this.catchUpTimer.unref()
  }

  /** The subscriber must see the previous probe; if not, it is deaf (Centrifugo #1189): rebuild it. */
  private runProbe (): void {
    if (this.closed) return
    // Only a subscriber listening to the probe channel is judged: probes published while it reconnected
    // could not reach it, and counting them as missed rebuilt a healthy subscriber again and again while
    // /health stayed 503 (test/delivery/deaf-subscriber.test.ts). Each (re)subscription re-arms the probe.
    if (!this.probeArmed) return
    const subscriber = this.subscriber as Redis
    if (this.probeSent > this.probeSeen && subscriber.status === 'ready') {
      this.deaf = true
      this.probeArmed = false
      this.log?.warn('redis broker: the subscriber missed its probe; reconnecting it')
      subscriber.disconnect(true)
      return
    }
    this.sendProbe()
  }

  /** The subscriber listens to the probe channel: probes count from now, starting with a fresh one. */
  private armProbe (): void {
    this.probeSeen = this.probeSent
    this.probeArmed = true
    this.sendProbe()
  }

  private sendProbe (): void {
    if (this.publisher.status !== 'ready') return
    const sent = Date.now()
    this.publisher.publish(this.probeChannel, String(sent)).then(() => { this.probeSent = Math.max(this.probeSent, sent) }, () => {})
  }

  private notSent (error: unknown): boolean {
    // ioredis' words for a command refused while disconnected (enableOfflineQueue: false).
    const message = (error as Error)?.message ?? ''
    return message.includes("Stream isn't writeable") || message.includes("Cluster isn't ready")
  }

  /** Resolves when the publisher is ready again, or after at most 100 ms (never after `deadline`). */
  private readyOrTimeout (deadline: number): Promise<void> {
    // One 'ready' listener shared by every waiting publish: a burst would otherwise add one each.
    if (this.publisherReady === undefined) {
      this.publisherReady = new Promise<void>((resolve) => {
        this.publisher.once('ready', () => { this.publisherReady = undefined; resolve() })
      })
    }
    const ready = this.publisherReady
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, Math.min(deadline - Date.now(), 100)))
      void ready.then(() => { clearTimeout(timer); resolve() })
    })
  }
}
