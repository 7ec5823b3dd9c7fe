/**
 * createApp's settings: explicit options first, then environment variables, each checked once at startup.
 * A bad value stops startup with FVIEWS_ERR_OPTION_INVALID naming the setting and the accepted range.
 * The seed's production names (SSE_REDIS_URL, SSE_TOPIC_PREFIX, SSE_PATH, SSE_HEARTBEAT_SECONDS) are read
 * beside the shorter ones and win over them when both are set.
 *
 * Written out rather than with env-schema: each setting has several sources in order (option, SSE_*
 * name, short name, parts such as REDIS_HOST/REDIS_PORT), and each error names the variable at fault and
 * what it accepts; env-schema maps one variable to one key and reports Ajv's wording.
 */
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'

export interface AppSettings {
  /** Redis URL; undefined means the in-memory broker (unless a cluster is configured). */
  redisUrl: string | undefined
  /** Startup nodes of a Redis Cluster; undefined means no cluster. */
  redisCluster: Array<{ host: string, port: number }> | undefined
  topicPrefix: string
  heartbeatSeconds: number
  /** `false`: no CORS; `true`: any origin; a list: those origins. */
  corsOrigins: boolean | string[]
  /** Path of the subscription endpoint createApp mounts, or false for none. */
  ssePath: string | false
}

export interface SettingsInput {
  redisUrl?: string
  /** Redis Cluster startup nodes: `[{ host, port }]` or 'host:port,host:port'. */
  redisCluster?: string | Array<{ host: string, port: number }>
  redis?: { host?: string, port?: number, db?: number, password?: string }
  topicPrefix?: string
  heartbeatSeconds?: number
  corsOrigins?: boolean | string | string[]
  /** Mount a topic subscription endpoint here (`GET <ssePath>?topic=a,b`), or false; default SSE_PATH, else none. */
  ssePath?: string | false
}

/** The option names of SettingsInput, for the unknown-option check of createApp. */
export const SETTINGS_OPTION_NAMES = ['redisUrl', 'redisCluster', 'redis', 'topicPrefix', 'heartbeatSeconds', 'corsOrigins', 'ssePath'] as const

type Env = Record<string, string | undefined>

/** A value as the user wrote it: an option's number as a number (-1), an environment variable's text quoted ('-1'). */
export function shownValue (raw: unknown): string {
  return typeof raw === 'string' ? `'${raw}'` : String(raw)
}

function integer (name: string, raw: string | number, min: number, max: number): number {
  const value = typeof raw === 'number' ? raw : Number(raw.trim())
  if (typeof raw === 'string' && raw.trim() === '') throw new FVIEWS_ERR_OPTION_INVALID(name, `expected an integer from ${min} to ${max}, got an empty value`)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FVIEWS_ERR_OPTION_INVALID(name, `expected an integer from ${min} to ${max}, got ${shownValue(raw)}`)
  }
  return value
}

function seconds (name: string, raw: string | number, max: number): number {
  const value = typeof raw === 'number' ? raw : Number(raw.trim())
  if (!Number.isFinite(value) || value < 0 || value > max || (typeof raw === 'string' && raw.trim() === '')) {
    throw new FVIEWS_ERR_OPTION_INVALID(name, `expected a number of seconds from 0 (off) to ${max}, got ${shownValue(raw)}`)
  }
  return value
}

function redisUrl (input: SettingsInput, env: Env): string | undefined {
  if (input.redisUrl !== undefined) return checkedUrl('redisUrl', input.redisUrl)
  if (input.redis !== undefined) return urlFromParts('redis', input.redis.host, input.redis.port, input.redis.db, input.redis.password)
  if (env.SSE_REDIS_URL !== undefined && env.SSE_REDIS_URL !== '') return checkedUrl('SSE_REDIS_URL', env.SSE_REDIS_URL)
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') return checkedUrl('REDIS_URL', env.REDIS_URL)
  if (env.REDIS_HOST !== undefined || env.REDIS_PORT !== undefined || env.REDIS_DB !== undefined) {
    return urlFromParts('REDIS_HOST/REDIS_PORT/REDIS_DB', env.REDIS_HOST,
      env.REDIS_PORT === undefined ? undefined : integer('REDIS_PORT', env.REDIS_PORT, 1, 65535),
      env.REDIS_DB === undefined ? undefined : integer('REDIS_DB', env.REDIS_DB, 0, 15))
  }
  return undefined
}

function checkedUrl (name: string, raw: string): string {
  let url: URL
  try { url = new URL(raw) } catch { throw new FVIEWS_ERR_OPTION_INVALID(name, `expected a redis:// or rediss:// URL, got '${raw}'`) }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new FVIEWS_ERR_OPTION_INVALID(name, `expected a redis:// or rediss:// URL, got '${raw}'`)
  return raw
}

function urlFromParts (name: string, host = '127.0.0.1', port = 6379, db = 0, password?: string): string {
  integer(`${name} port`, port, 1, 65535)
  integer(`${name} db`, db, 0, 15)
  const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`
  return `redis://${auth}${host.includes(':') ? `[${host}]` : host}:${port}/${db}`
}

function redisCluster (input: SettingsInput, env: Env): Array<{ host: string, port: number }> | undefined {
  const raw = input.redisCluster ?? (env.REDIS_CLUSTER_NODES === '' ? undefined : env.REDIS_CLUSTER_NODES)
  if (raw === undefined) return undefined
  const name = input.redisCluster === undefined ? 'REDIS_CLUSTER_NODES' : 'redisCluster'
  const nodes = typeof raw === 'string'
    ? raw.split(',').map((item) => item.trim()).filter((item) => item !== '').map((item) => {
      const colon = item.lastIndexOf(':')
      if (colon <= 0) throw new FVIEWS_ERR_OPTION_INVALID(name, `expected comma-separated host:port pairs, got '${item}'`)
      return { host: item.slice(0, colon).replace(/^\[|\]$/g, ''), port: integer(name, item.slice(colon + 1), 1, 65535) }
    })
    : raw.map((node) => ({ host: node.host, port: integer(name, node.port, 1, 65535) }))
  if (nodes.length === 0) throw new FVIEWS_ERR_OPTION_INVALID(name, 'expected at least one host:port')
  return nodes
}

function corsOrigins (input: SettingsInput, env: Env): boolean | string[] {
  const raw = input.corsOrigins ?? env.CORS_ORIGINS
  if (raw === undefined || raw === false || raw === '') return false
  if (raw === true || raw === '*') return true
  const list = (Array.isArray(raw) ? raw : raw.split(',')).map((origin) => origin.trim()).filter((origin) => origin !== '')
  for (const origin of list) {
    if (origin === '*') return true
    try { new URL(origin) } catch { throw new FVIEWS_ERR_OPTION_INVALID('CORS_ORIGINS', `expected '*' or comma-separated origins like https://app.example.com, got '${origin}'`) }
  }
  return list
}

function topicPrefix (input: SettingsInput, env: Env): string {
  const name = input.topicPrefix !== undefined ? 'topicPrefix' : env.SSE_TOPIC_PREFIX !== undefined ? 'SSE_TOPIC_PREFIX' : 'TOPIC_PREFIX'
  const prefix = input.topicPrefix ?? env.SSE_TOPIC_PREFIX ?? env.TOPIC_PREFIX ?? ''
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (prefix.length > 64 || /[\s\0-\x1f{}]/.test(prefix)) {
    throw new FVIEWS_ERR_OPTION_INVALID(name, `expected at most 64 characters without whitespace, control characters or braces, got '${prefix}'`)
  }
  return prefix
}

function ssePath (input: SettingsInput, env: Env): string | false {
  if (input.ssePath === false) return false
  const raw = input.ssePath ?? (env.SSE_PATH === '' ? undefined : env.SSE_PATH)
  if (raw === undefined) return false
  if (typeof raw !== 'string' || !raw.startsWith('/') || /[\s?#]/.test(raw)) {
    throw new FVIEWS_ERR_OPTION_INVALID(input.ssePath === undefined ? 'SSE_PATH' : 'ssePath', `expected a path starting with '/' without spaces, '?' or '#', e.g. /sse, got '${String(raw)}'`)
  }
  return raw
}

export function resolveSettings (input: SettingsInput = {}, env: Env = process.env): AppSettings {
  const heartbeat = input.heartbeatSeconds ?? env.SSE_HEARTBEAT_SECONDS
  return {
    redisUrl: redisUrl(input, env),
    redisCluster: redisCluster(input, env),
    topicPrefix: topicPrefix(input, env),
    heartbeatSeconds: heartbeat === undefined ? 15 : seconds(input.heartbeatSeconds === undefined ? 'SSE_HEARTBEAT_SECONDS' : 'heartbeatSeconds', heartbeat, 3600),
    corsOrigins: corsOrigins(input, env),
    ssePath: ssePath(input, env)
  }
}
