/**
 * Redis key layout and the publish script. Every key and the channel of a topic share the hash tag
 * `{topic}`, so in Redis Cluster they live in one slot and the script may touch them all.
 *
 *   <prefix>{<topic>}:meta   hash: epoch, offset
 *   <prefix>{<topic>}:log    stream of events, entry id <offset>-0, fields e (event), d (data), t (time)
 *   <prefix>{<topic>}        the (sharded) pub/sub channel
 */

export function metaKey (prefix: string, topic: string): string { return `${prefix}{${topic}}:meta` }
export function logKey (prefix: string, topic: string): string { return `${prefix}{${topic}}:log` }
export function channelOf (prefix: string, topic: string): string { return `${prefix}{${topic}}` }

/** The topic of a channel name made by channelOf. */
export function topicOfChannel (prefix: string, channel: string): string {
  return channel.slice(prefix.length + 1, -1)
}

/**
 * History and live never disagree because one script does all of it: take the topic's next offset (a new
 * epoch when the topic has none: its history was lost or expired), append to the capped log, refresh
 * retention, and publish the event carrying its offset.
 *
 * KEYS: meta, log, publish token. ARGV: new epoch, max log length, ttl seconds (0: none), event, data, time,
 * publish command (PUBLISH or SPUBLISH), channel, token record lifetime (ms).
 * Returns { epoch, offset }. A publish whose token is recorded already ran (or was fenced off): it only
 * returns the record (lib/broker/redis-publish-token.ts), so sending it again is safe.
 */
export const PUBLISH_SCRIPT = `
local record = redis.call('GET', KEYS[3])
if record then
  local colon = string.find(record, ':', 1, true)
  return { string.sub(record, 1, colon - 1), tonumber(string.sub(record, colon + 1)) }
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], offset .. '-0', 'e', ARGV[4], 'd', ARGV[5], 't', ARGV[6])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
redis.call(ARGV[7], ARGV[8], epoch .. '\\n' .. offset .. '\\n' .. ARGV[6] .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[5])
redis.call('SET', KEYS[3], epoch .. ':' .. offset, 'PX', ARGV[9])
return { epoch, offset }
`

/** A pub/sub payload: `epoch \\n offset \\n time \\n event \\n json` (event names and compact JSON hold no LF). */
export function parsePayload (payload: string): { epoch: string, offset: number, time: number, event: string, json: string } | undefined {
  const a = payload.indexOf('\n')
  const b = payload.indexOf('\n', a + 1)
  const c = payload.indexOf('\n', b + 1)
  const d = payload.indexOf('\n', c + 1)
  if (a < 0 || b < 0 || c < 0 || d < 0) return undefined
  return {
    epoch: payload.slice(0, a),
    offset: Number(payload.slice(a + 1, b)),
    time: Number(payload.slice(b + 1, c)),
    event: payload.slice(c + 1, d),
    json: payload.slice(d + 1)
  }
}
