/**
 * A memory broker whose listen/unlisten take real time and report when they start: the backend latency
 * under which the reconcile loop's races happen (a Redis SUBSCRIBE round trip), made deterministic.
 * It also keeps the set of topics the backend listens to, so a test can check that no topic is listened
 * to without a local subscriber and no subscriber waits on a topic that is not listened to.
 */
import { MemoryBroker } from '../../lib/index.js'
import type { BrokerOptions } from '../../lib/broker/contract.js'
import type { BrokerMessage } from '../../lib/broker/message.js'

export interface SlowBackendOptions extends BrokerOptions {
  /** Delay of every listen and unlisten (ms), or a function choosing one per call. */
  latencyMs?: number | (() => number)
}

export class SlowBackendBroker extends MemoryBroker {
  /** Topics the backend listens to right now (after a listen resolved, until an unlisten started). */
  readonly backendListening = new Set<string>()
  /** Called when a listen/unlisten starts, before its delay. */
  onCall: ((kind: 'listen' | 'unlisten', topics: string[]) => void) | undefined
  private readonly latency: () => number

  constructor (options: SlowBackendOptions = {}) {
    super(options)
    const latency = options.latencyMs ?? 20
    this.latency = typeof latency === 'number' ? () => latency : latency
  }

  private async delay (): Promise<void> {
    const ms = this.latency()
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
    else await new Promise((resolve) => setImmediate(resolve))
  }

  protected override async listen (topics: string[]): Promise<void> {
    this.onCall?.('listen', topics)
    await this.delay()
    for (const topic of topics) this.backendListening.add(topic)
  }

  protected override async unlisten (topics: string[]): Promise<void> {
    this.onCall?.('unlisten', topics)
    for (const topic of topics) this.backendListening.delete(topic)
    await this.delay()
  }

  // Like a Redis channel: an event reaches this process only while the backend listens to its topic.
  protected override receive (message: BrokerMessage): void {
    if (this.backendListening.has(message.topic)) super.receive(message)
  }

  /** True while the reconcile loop has work pending or in flight. */
  get settling (): boolean {
    return (this as unknown as { reconciling: unknown }).reconciling !== undefined
  }
}
