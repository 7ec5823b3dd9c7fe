// The Redis subpath, typechecked with ioredis installed (it is an optional peer of the main entry).
import { RedisBroker, type RedisBrokerOptions } from 'fastify-views/redis'
import type { Broker } from 'fastify-views'

export const options: RedisBrokerOptions = { url: 'redis://127.0.0.1:1', publishTimeoutMs: 100 }
export const broker: Broker = new RedisBroker(options)
