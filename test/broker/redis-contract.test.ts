import t from 'tap'
import { RedisBroker } from '../../lib/redis.js'
import { startRedis } from '../helpers/redis-server.js'
import { brokerContract } from './contract.js'

const redis = await startRedis({ t })
let apps = 0

brokerContract(t, 'redis', {
  async make (options = {}) {
    // Each broker gets its own prefix: the cases share one server but never each other's topics.
    const broker = new RedisBroker({ url: redis.url, topicPrefix: `contract${++apps}:`, ...options })
    await broker.connect()
    return broker
  },
  async forget (broker, topic) {
    // What a Redis restart without persistence, or the expiry of an idle topic, does.
    await redis.cli('DEL', `${broker.topicPrefix}{${topic}}:meta`, `${broker.topicPrefix}{${topic}}:log`)
  }
})
