// `fastify-views/redis`: the Redis broker, apart from the main entry so that ioredis (an optional peer
// dependency) is loaded, and its types needed, only by apps that use Redis.
export { RedisBroker, type RedisBrokerOptions, type RedisBrokerStats } from './broker/redis.js'
