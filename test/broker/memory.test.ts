import t from 'tap'
import { MemoryBroker } from '../../lib/index.js'
import { brokerContract } from './contract.js'

brokerContract(t, 'memory', {
  async make (options = {}) {
    const broker = new MemoryBroker(options)
    await broker.connect()
    return broker
  },
  async forget (broker, topic) {
    // What the retention sweep does to a topic nobody listens to once its last event is old enough.
    (broker as any).logs.delete(topic)
  }
})
