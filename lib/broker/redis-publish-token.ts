/**
 * Publish tokens: how the Redis broker tells "published" from "not published" when a publish was sent
 * and its reply never came (a timeout, a connection that died with the command in flight).
 *
 * Every publish carries a random token. The publish script records `<epoch>:<offset>` under the token's
 * key (beside the topic's keys, same hash tag) for a short while, and does nothing but return that record
 * when the key already exists. So the same publish can be sent again safely - it runs at most once - and
 * a publish whose fate is unknown can be settled for good by FENCE_SCRIPT: it returns the record if the
 * publish ran, and otherwise writes a fence that makes the publish a no-op should its bytes still arrive.
 *
 *   <prefix>{<topic>}:publish:<token>   string "<epoch>:<offset>" per topic of the publish, comma-separated
 *                                       (the key has the hash tag of its first topic), or "fenced:0"
 */
import { randomBytes } from 'node:crypto'

export function publishTokenKey (prefix: string, topic: string, token: string): string { return `${prefix}{${topic}}:publish:${token}` }

export function newPublishToken (): string {
  return randomBytes(12).toString('base64url')
}

/** The record of a publish that was fenced off: offset 0 is no event's. */
export const FENCED = 'fenced:0'

/**
 * KEYS: the token key. ARGV: fence lifetime (ms). Returns the publish's record or FENCED.
 */
export const FENCE_SCRIPT = `
local record = redis.call('GET', KEYS[1])
if record then return record end
redis.call('SET', KEYS[1], '${FENCED}', 'PX', ARGV[1])
return '${FENCED}'
`

/** `<epoch>:<offset>[,<epoch>:<offset>...]` (one per topic of the publish) -> their parts; offset 0 for a fence. */
export function parseRecord (record: string): Array<{ epoch: string, offset: number }> {
  return record.split(',').map((entry) => {
    const colon = entry.indexOf(':')
    return { epoch: entry.slice(0, colon), offset: Number(entry.slice(colon + 1)) }
  })
}
