/**
 * The broker an app gets: Redis when a URL is configured, in memory otherwise.
 */
import type { Broker, BrokerOptions } from './broker.js'
import { MemoryBroker } from './memory.js'
import { RedisBroker, type RedisBrokerOptions } from './redis.js'

export interface CreateBrokerOptions extends BrokerOptions, Partial<Omit<RedisBrokerOptions, keyof BrokerOptions>> {
  /** Use Redis at this URL; without it, the in-memory broker. */
  redisUrl?: string
}

export function createBroker (options: CreateBrokerOptions = {}): Broker {
  const { redisUrl, ...rest } = options
  if (redisUrl !== undefined) return new RedisBroker({ ...rest, url: redisUrl })
  return new MemoryBroker(rest)
}
