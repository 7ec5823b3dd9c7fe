/**
 * What a backend receives from a shared transport (Redis pub/sub) is checked before the fan-out sees it:
 * anyone who can PUBLISH to a topic's channel can send bytes this library never wrote. A message is
 * taken whole or not at all - one that a single subscriber would choke on (an event name with CR, data
 * that is not JSON) is skipped for every subscriber, so none of them throws and none is left behind.
 *
 * The trust boundary is the channel itself: a forged message with a plausible epoch and the topic's next
 * offset cannot be told from a real one without reading the stream for every event, so whoever may
 * PUBLISH to the library's channels must be trusted (restrict it with Redis ACLs, README "Delivery").
 */
import type { BrokerMessage } from './message.js'

// Epochs are base36 (newEpoch in broker.ts); a forged one would reset every client of the topic.
const EPOCH = /^[0-9a-z]{1,16}$/
// The SSE field rule (lib/sse/encoder.ts): CR, LF or NUL would end or split the frame.
const UNSAFE_EVENT = /[\r\n\0]/

/** Why the message cannot be delivered, or undefined when it can. Parses its data once (kept for readers). */
export function malformation (message: BrokerMessage): string | undefined {
  if (!EPOCH.test(message.epoch)) return 'the epoch is not one this library writes'
  if (!Number.isSafeInteger(message.offset) || message.offset < 1) return 'the offset is not a positive integer'
  if (!Number.isFinite(message.time) || message.time < 0) return 'the publish time is not a number'
  if (message.event === '' || UNSAFE_EVENT.test(message.event)) return 'the event name is empty or holds CR, LF or NUL'
  try {
    // `data` caches the parsed value: a view relaying the event reads it without parsing again.
    void message.data
  } catch {
    return 'the data is not JSON'
  }
  return undefined
}
