/**
 * The topic catalog at delivery (outside review F2): a broker with a catalog checks every event it reads
 * from a shared backend that its own publish did not write. Another service on the same Redis, an older
 * version of this app or a broker built without `topics` can publish to a catalog's topic; its bad data,
 * its undeclared events and its undeclared properties reached every SubscriptionView subscriber, while the
 * route's OpenAPI entry documents exactly the catalog's events.
 *
 * - What is checked: each copy received live (pub/sub) and each read from history (resume, catch-up), by
 *   the event's compiled check and serialised by its compiled serialiser, as a publish is.
 * - Once per event per process: the verdict of the last SCREEN_MEMORY events (by topic, epoch, offset) is
 *   kept, so a thousand clients resuming over the same history cost one check each event, not a thousand.
 *   Past that, an event read again from history is checked again (and a refusal counted again).
 * - Never twice for its own: a publish of this broker is validated and serialised at publish; its copies
 *   are recognised by content - the publish's time (strictly increasing per broker), event and JSON text,
 *   while it is in flight, then by the positions Redis gave it - and not checked again. Recognising by
 *   content cannot be forged: a copy that matches is exactly what the catalog wrote.
 * - A refused event keeps its offset: the topic's position, and every subscription's cursor, move past
 *   it, so the next event's id is past it and a resume from before it replays around it. It is logged
 *   (rate-limited: the first 10, then every 1,000th) with its topic, event, id and why, and counted in
 *   the broker's `stats.refusedMessages`.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { AnyTopicCatalog } from './catalog.js'
import type { PublishResult } from './contract.js'
import { soloCursor, topicSetKey } from './cursor.js'
import { BrokerMessage } from './message.js'
import { printableTopic } from './topic-names.js'

/** Events whose verdict is remembered (about 100 bytes each). */
export const SCREEN_MEMORY = 16384

/** `true`: deliver as it is; a string: deliver with this JSON (undeclared properties dropped); else refused. */
type Verdict = true | string | { problem: string }

interface OwnPublish {
  event: string
  json: string
  topics: readonly string[]
}

export class ForeignScreen {
  private readonly catalog: AnyTopicCatalog
  /** The broker's logger as it is now (the app may give it one after it was built). */
  private readonly log: () => FastifyBaseLogger | undefined
  private readonly stats: { refusedMessages: number }
  private readonly verdicts = new Map<string, Verdict>()
  /** This broker's publishes in flight, by publish time. */
  private readonly own = new Map<number, OwnPublish>()

  constructor (catalog: AnyTopicCatalog, stats: { refusedMessages: number }, log: () => FastifyBaseLogger | undefined) {
    this.catalog = catalog
    this.stats = stats
    this.log = log
  }

  /** A publish of this broker (validated and serialised already) is about to be sent. */
  publishing (time: number, topics: readonly string[], event: string, json: string): void {
    this.own.set(time, { event, json, topics })
  }

  /** It was stored at `results` (or failed: undefined); the copies of topics listened to here are known good. */
  published (time: number, results: PublishResult[] | undefined, listened: (topic: string) => boolean): void {
    this.own.delete(time)
    if (results === undefined) return
    for (const result of results) if (listened(result.topic)) this.remember(keyOf(result.topic, result.epoch, result.offset), true)
  }

  /** The message as the catalog lets it out: itself, a copy with the schema's JSON, or itself marked refused. */
  screen (message: BrokerMessage): BrokerMessage {
    const key = keyOf(message.topic, message.epoch, message.offset)
    let verdict = this.verdicts.get(key)
    if (verdict === undefined) {
      const own = this.own.get(message.time)
      verdict = own !== undefined && own.event === message.event && own.json === message.json && own.topics.includes(message.topic)
        ? true
        : this.check(message)
      this.remember(key, verdict)
    }
    if (verdict === true) return message
    if (typeof verdict === 'string') return new BrokerMessage(message.topic, message.epoch, message.offset, message.event, verdict, message.time, message.topics)
    message.refused = verdict.problem
    return message
  }

  private check (message: BrokerMessage): Verdict {
    let data: unknown
    let outcome: { json: string } | { problem: string }
    try {
      data = message.data
      outcome = this.catalog.screen(message.topic, message.event, data, message.json)
    } catch {
      outcome = { problem: 'the data is not JSON' }
    }
    if ('json' in outcome) return outcome.json === message.json ? true : outcome.json
    const count = ++this.stats.refusedMessages
    if (count <= 10 || count % 1000 === 0) {
      this.log()?.warn({
        topic: printableTopic(message.topic),
        event: printableTopic(message.event),
        id: soloCursor(topicSetKey([message.topic]), message.epoch, message.offset),
        epoch: message.epoch,
        offset: message.offset,
        problem: outcome.problem,
        occurrences: count
      }, 'broker: an event the topic catalog refuses (not published by this broker) was not delivered')
    }
    return { problem: outcome.problem }
  }

  private remember (key: string, verdict: Verdict): void {
    this.verdicts.set(key, verdict)
    if (this.verdicts.size > SCREEN_MEMORY) this.verdicts.delete(this.verdicts.keys().next().value as string)
  }
}

function keyOf (topic: string, epoch: string, offset: number): string {
  // Epochs are base36 and offsets integers: the first two ':' delimit them whatever the topic holds.
  return `${epoch}:${offset}:${topic}`
}
