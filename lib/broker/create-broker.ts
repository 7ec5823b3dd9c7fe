/**
 * The broker an app gets: a Redis Cluster when startup nodes are configured, Redis when a URL is,
 * in memory otherwise.
 */
import type { Broker, BrokerOptions } from './broker.js'
import { checkHistorySize } from './history-size.js'
import { MemoryBroker } from './memory.js'
import { RedisBroker, type RedisBrokerOptions } from './redis.js'

export interface CreateBrokerOptions extends BrokerOptions, Partial<Omit<RedisBrokerOptions, keyof BrokerOptions>> {
  /** Use Redis at this URL; without it, the in-memory broker. */
  redisUrl?: string
}

export function createBroker (options: CreateBrokerOptions = {}): Broker {
  const { redisUrl, ...rest } = options
  checkHistorySize(rest.historySize)
  if (rest.cluster !== undefined) return new RedisBroker(rest)
  if (redisUrl !== undefined) return new RedisBroker({ ...rest, url: redisUrl })
  return new MemoryBroker(rest)
}
