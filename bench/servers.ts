/**
 * The servers bench/run.ts compares, in this order. Adding a server = one file in bench/servers/ that
 * follows the protocol in bench/README.md, plus one line here. The first entry is the baseline every
 * ratio in the tables is computed against.
 */
export interface ServerDef {
  /** Name shown in the tables and accepted by `--servers`. */
  name: string
  /** Path of the server file, relative to bench/. */
  file: string
  /** The server implements `GET /burst?m=M&b=B` (single-stream benchmark). */
  burst?: boolean
  /** One line printed under the tables (how the server is built, known caveats). */
  note?: string
  /** The runner starts a redis-server for it and passes its URL as REDIS_URL. */
  redis?: boolean
  /**
   * What issue 14 asks of this row at N = 10,000, as ratios to the baseline in the same run: events/s at
   * least `eventsPerSec`, server CPU per delivered event at most `cpuPerEvent`, memory per idle connection
   * at most `memPerConn`. The tables print them beside the measured ratios.
   */
  targets?: { eventsPerSec?: number, cpuPerEvent?: number, memPerConn?: number }
}

/** Every ratio of the fan-out table is to this row (same N, same run). */
export const BASELINE = 'node-limit'
/** The single-stream table compares against this one (node-limit has no /burst). */
export const BURST_BASELINE = 'node-http'

export const servers: ServerDef[] = [
  { name: 'node-limit', file: 'servers/node-limit.ts', note: 'the limit of Node (baseline): raw node:net sockets, the HTTP/1.1 head written by hand, the events of one turn framed once into ONE pre-chunked Buffer written once per socket per turn' },
  { name: 'node-http', file: 'servers/node-http.ts', burst: true, note: 'plain node:http, one res.write() of one pre-framed Buffer per event per client' },
  { name: 'fastify-sse', file: 'servers/fastify-sse.ts', note: '@fastify/sse 0.6: reply.sse.send() per client, each event awaited across all clients' },
  { name: 'fastify-sse-v2', file: 'servers/fastify-sse-v2.ts', note: 'fastify-sse-v2 4.2: EventEmitter + events.on() async iterable per client' },
  { name: 'better-sse', file: 'servers/better-sse.ts', note: 'better-sse 0.16 on Fastify: Channel.broadcast()' },
  { name: 'fastify-views', file: 'servers/fastify-views.ts', targets: { eventsPerSec: 0.8, cpuPerEvent: 1.5, memPerConn: 1.2 }, note: 'fastify-views: createApp + SubscriptionView, in-memory broker; each event framed once as an HTTP chunk, one Buffer written to every socket' },
  { name: 'fastify-views-redis', file: 'servers/fastify-views.ts', redis: true, targets: { eventsPerSec: 0.7, memPerConn: 1.2 }, note: 'fastify-views: the same through the Redis broker (a local redis-server started by the runner; the burst publishes are pipelined; server CPU excludes redis-server, reported apart)' },
  { name: 'fastify-views-relay', file: 'servers/fastify-views-relay.ts', targets: { eventsPerSec: 0.5, memPerConn: 1.2 }, note: 'fastify-views: a ServerSideEventsView whose events() is yield* broker.subscribe([...], { signal, lastEventId }) per client (validation + serialization + framing per client)' },
  { name: 'fastify-views-own', file: 'servers/fastify-views-own.ts', burst: true, note: 'fastify-views: a ServerSideEventsView yielding its own events per client from an in-process log (no broker; validation + serialization + framing per client); measured, no target' }
]
