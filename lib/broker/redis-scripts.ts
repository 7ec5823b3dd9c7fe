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
 * History and live never disagree because one script does all of it, for every topic of a publish at once
 * (standalone Redis: always; a Cluster: the topics of one hash slot): take each topic's next offset (a new
 * epoch when the topic has none: its history was lost or expired), append to its log, trim it, refresh
 * retention, and publish the event carrying its offset and the publish's topic list.
 *
 * Trimming keeps every event of the last window and, of older events, the newest `bytes` (an event costs
 * its name and data plus 64): meta field `old` is the last offset counted as older than the window and
 * `oldBytes` their cost, `first` the first offset kept. Each pointer only moves forward and reads a few
 * entries per step, so a publish costs amortised O(1) (issue 11 #4: a count alone reset slow clients).
 *
 * Every publish carries a token (lib/broker/redis-publish-token.ts): the script records the positions it
 * gave under the token's key, and a publish whose token is recorded already ran (or was fenced off): it
 * only returns the record, so sending it again is safe.
 *
 * KEYS: the publish token, then meta and log of each topic, in pairs. ARGV: new epoch, max events, ttl
 * seconds (0: none), event, data, time, publish command (PUBLISH or SPUBLISH), history bytes, window ms,
 * topic list ('' for one topic), token record lifetime (ms), then the channel of each topic.
 * Returns { epoch, offset } for each topic, flat.
 */
export const PUBLISH_SCRIPT = `
local record = redis.call('GET', KEYS[1])
if record then
  local out = {}
  for epoch, offset in string.gmatch(record, '([^:,]*):(%d+)') do
    out[#out + 1] = epoch
    out[#out + 1] = tonumber(offset)
  end
  return out
end
local maxlen = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local bytes = tonumber(ARGV[8])
local cutoff = tonumber(ARGV[6]) - tonumber(ARGV[9])
local function cost (f)
  local n = 64
  for j = 1, #f, 2 do
    if f[j] == 'e' or f[j] == 'd' then n = n + #f[j + 1] end
  end
  return n
end
local function timeOf (f)
  for j = 1, #f, 2 do
    if f[j] == 't' then return tonumber(f[j + 1]) end
  end
  return 0
end
local function trim (meta, log, offset)
  local state = redis.call('HMGET', meta, 'first', 'old', 'oldBytes', 'oldNext')
  local first = tonumber(state[1] or '1')
  local old = tonumber(state[2] or (first - 1))
  local oldBytes = tonumber(state[3] or '0')
  -- The time of entry old + 1 when known: most publishes then read no entry at all.
  local oldNext = tonumber(state[4] or '0')
  local changed = false
  if old + 1 == offset then oldNext = tonumber(ARGV[6]) end
  local count = 1
  while old < offset and (oldNext == 0 or oldNext <= cutoff) do
    local entries = redis.call('XRANGE', log, (old + 1) .. '-0', '+', 'COUNT', count)
    if #entries == 0 then break end
    oldNext = 0
    for _, entry in ipairs(entries) do
      if oldNext == 0 then
        local t = timeOf(entry[2])
        if t > cutoff then
          oldNext = t
        else
          old = tonumber(string.match(entry[1], '^(%d+)'))
          oldBytes = oldBytes + cost(entry[2])
        end
      end
    end
    changed = true
    count = math.min(count * 2, 64)
  end
  count = 1
  local from = first
  -- An event costs at least 64: below that nothing older can go, and the count cap decides alone.
  while first <= offset and (offset - first + 1 > maxlen or (first <= old and oldBytes - 64 >= bytes)) do
    local entries = redis.call('XRANGE', log, first .. '-0', '+', 'COUNT', count)
    if #entries == 0 then break end
    local dropping = true
    for _, entry in ipairs(entries) do
      local id = tonumber(string.match(entry[1], '^(%d+)'))
      local size = cost(entry[2])
      -- Entries below were trimmed by an earlier version (MAXLEN ~): start from what is there.
      if dropping and id > first then
        first = id
        if old < first - 1 then old = first - 1; oldBytes = 0 end
      end
      if not dropping then
      elseif offset - id + 1 > maxlen then
        if id <= old then oldBytes = oldBytes - size else old = id end
        first = id + 1
      elseif id <= old and oldBytes - size >= bytes then
        oldBytes = oldBytes - size
        first = id + 1
      else
        dropping = false
      end
    end
    if not dropping then break end
    count = math.min(count * 2, 64)
  end
  if first ~= from then redis.call('XTRIM', log, 'MINID', first .. '-0') end
  if changed or first ~= from then redis.call('HSET', meta, 'first', first, 'old', old, 'oldBytes', oldBytes, 'oldNext', oldNext) end
end
local out = {}
local n = (#KEYS - 1) / 2
local positions = {}
for i = 1, n do
  local meta = KEYS[2 * i]
  local log = KEYS[2 * i + 1]
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    epoch = ARGV[1]
    redis.call('DEL', log, meta)
    redis.call('HSET', meta, 'epoch', epoch)
  end
  local offset = redis.call('HINCRBY', meta, 'offset', 1)
  if ARGV[10] == '' then
    redis.call('XADD', log, offset .. '-0', 'e', ARGV[4], 'd', ARGV[5], 't', ARGV[6])
  else
    redis.call('XADD', log, offset .. '-0', 'e', ARGV[4], 'd', ARGV[5], 't', ARGV[6], 'p', ARGV[10])
  end
  trim(meta, log, offset)
  if ttl > 0 then
    redis.call('EXPIRE', meta, ttl)
    redis.call('EXPIRE', log, ttl)
  end
  local payload = epoch .. '\\n' .. offset .. '\\n' .. ARGV[6] .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[5]
  if ARGV[10] ~= '' then payload = payload .. '\\n' .. ARGV[10] end
  redis.call(ARGV[7], ARGV[11 + i], payload)
  out[2 * i - 1] = epoch
  out[2 * i] = offset
  positions[i] = epoch .. ':' .. offset
end
redis.call('SET', KEYS[1], table.concat(positions, ','), 'PX', ARGV[11])
return out
`

/**
 * A pub/sub payload: `epoch \\n offset \\n time \\n event \\n json [\\n topics]` (event names, compact JSON
 * and topic names hold no LF); `topics`, comma-separated, only for a publish to several topics.
 */
export function parsePayload (payload: string): { epoch: string, offset: number, time: number, event: string, json: string, topics?: string[] } | undefined {
  const a = payload.indexOf('\n')
  const b = payload.indexOf('\n', a + 1)
  const c = payload.indexOf('\n', b + 1)
  const d = payload.indexOf('\n', c + 1)
  if (a < 0 || b < 0 || c < 0 || d < 0) return undefined
  const e = payload.indexOf('\n', d + 1)
  return {
    epoch: payload.slice(0, a),
    offset: Number(payload.slice(a + 1, b)),
    time: Number(payload.slice(b + 1, c)),
    event: payload.slice(c + 1, d),
    json: e < 0 ? payload.slice(d + 1) : payload.slice(d + 1, e),
    topics: e < 0 ? undefined : payload.slice(e + 1).split(',')
  }
}
