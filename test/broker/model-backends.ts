/**
 * The backends the model-based test runs against: the memory broker behind a backend with injected
 * listen/unlisten latency, Redis and a 3-master Redis Cluster (real redis-server processes), the Redis
 * ones with the same injected latency on top of their real round trips.
 */
import { Cluster, Redis } from 'ioredis'
import type { Broker } from '../../lib/index.js'
import { RedisBroker } from '../../lib/redis.js'
import type { RedisBrokerOptions } from '../../lib/broker/redis.js'
import type { ModelBackend, RetentionSettings } from './model.js'
import { SlowBackendBroker } from './slow-backend.js'

async function pause (ms: number): Promise<void> {
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
}

class SlowRedisBroker extends RedisBroker {
  latency: () => number = () => 0
  protected override async listen (topics: string[]): Promise<void> {
    await pause(this.latency())
    await super.listen(topics)
  }

  protected override async unlisten (topics: string[]): Promise<void> {
    await pause(this.latency())
    await super.unlisten(topics)
  }
}

function retentionOptions (retention: RetentionSettings) {
  // No window: what is kept is decided by bytes and count alone, so the model can tell.
  return { historySize: retention.historySize, historyBytes: retention.historyBytes, historyWindowSeconds: 0 }
}

export const memoryBackend: ModelBackend = {
  name: 'memory',
  strictOrder: true,
  async make (retention, latency) {
    const broker = new SlowBackendBroker({ ...retentionOptions(retention), latencyMs: latency })
    await broker.connect()
    return broker
  },
  async expire (broker, topic) {
    (broker as unknown as { logs: Map<string, unknown> }).logs.delete(topic)
  },
  async backendListening (broker) {
    return [...(broker as SlowBackendBroker).backendListening]
  }
}

let brokers = 0

export function redisBackend (url: string): ModelBackend & { close: () => Promise<void> } {
  const admin = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
  return {
    name: 'redis',
    strictOrder: true,
    async make (retention, latency) {
      const broker = new SlowRedisBroker({ url, topicPrefix: `model${++brokers}:`, probeIntervalMs: 0, ...retentionOptions(retention) } as RedisBrokerOptions)
      broker.latency = latency
      await broker.connect()
      return broker
    },
    async expire (broker, topic) {
      await admin.del(`${broker.topicPrefix}{${topic}}:meta`, `${broker.topicPrefix}{${topic}}:log`)
    },
    async backendListening (broker: Broker) {
      const channels = await admin.pubsub('CHANNELS', `${broker.topicPrefix}{*`) as string[]
      return channels.map((channel) => channel.slice(broker.topicPrefix.length + 1, -1))
    },
    async killSubscriber () {
      await admin.client('KILL', 'TYPE', 'pubsub')
    },
    async close () { admin.disconnect() }
  }
}

export function clusterBackend (startupNodes: Array<{ host: string, port: number }>): ModelBackend & { close: () => Promise<void> } {
  const admin = new Cluster(startupNodes, { lazyConnect: false })
  return {
    name: 'redis-cluster',
    strictOrder: false,
    async make (retention, latency) {
      const broker = new SlowRedisBroker({ cluster: startupNodes, topicPrefix: `model${++brokers}:`, ...retentionOptions(retention) } as RedisBrokerOptions)
      broker.latency = latency
      await broker.connect()
      return broker
    },
    async expire (broker, topic) {
      await admin.del(`${broker.topicPrefix}{${topic}}:meta`, `${broker.topicPrefix}{${topic}}:log`)
    },
    async close () { admin.disconnect() }
  }
}
