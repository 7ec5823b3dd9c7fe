/**
 * The broker an app gets: a Redis Cluster when startup nodes are configured, Redis when a URL is,
 * in memory otherwise.
 *
 * ioredis is an optional peer dependency: the Redis broker is imported here only when Redis is
 * configured, so `import 'fastify-views'` never loads it and an app without Redis need not install it.
 * The options are declared without ioredis' types for the same reason (the main entry's declarations
 * must typecheck without it); `RedisBroker` itself, with every ioredis option, is `fastify-views/redis`.
 */
import type { Broker } from './broker.js'
import type { BrokerOptions } from './contract.js'
import { checkHistorySize } from './history-size.js'
import { MemoryBroker } from './memory.js'
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'

export interface CreateBrokerOptions extends BrokerOptions {
  /** Use Redis at this URL; without it (and without `cluster`), the in-memory broker. */
  redisUrl?: string
  /** Startup nodes of a Redis Cluster (instead of `redisUrl`). */
  cluster?: Array<{ host: string, port: number }>
  /** Redis only: how long a publish waits for an unreachable Redis before failing (default 2,000 ms). */
  publishTimeoutMs?: number
  /** Redis only: interval of the subscriber liveness probe (default 5,000 ms; 0 disables). */
  probeIntervalMs?: number
}

async function loadRedisBroker (setting: string): Promise<typeof import('./redis.js').RedisBroker> {
  try {
    return (await import('./redis.js')).RedisBroker
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes("'ioredis'")) {
      throw new FVIEWS_ERR_OPTION_INVALID(setting, "Redis is configured but the optional peer dependency 'ioredis' is not installed: run `npm i ioredis`, or leave Redis unset for the in-memory broker")
    }
    throw error
  }
}

export async function createBroker (options: CreateBrokerOptions = {}): Promise<Broker> {
  const { redisUrl, ...rest } = options
  checkHistorySize(rest.historySize)
  if (rest.cluster !== undefined) return new (await loadRedisBroker('redisCluster'))(rest)
  if (redisUrl !== undefined) return new (await loadRedisBroker('redisUrl'))({ ...rest, url: redisUrl })
  return new MemoryBroker(rest)
}
