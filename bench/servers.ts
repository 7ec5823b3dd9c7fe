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
}

export const BASELINE = 'node-http'

export const servers: ServerDef[] = [
  { name: 'node-http', file: 'servers/node-http.ts', burst: true, note: 'plain node:http, one pre-framed Buffer written to every response (baseline)' },
  { name: 'fastify-sse', file: 'servers/fastify-sse.ts', note: '@fastify/sse 0.6: reply.sse.send() per client, each event awaited across all clients' },
  { name: 'fastify-sse-v2', file: 'servers/fastify-sse-v2.ts', note: 'fastify-sse-v2 4.2: EventEmitter + events.on() async iterable per client' },
  { name: 'better-sse', file: 'servers/better-sse.ts', note: 'better-sse 0.16 on Fastify: Channel.broadcast()' },
  { name: 'fastify-views', file: 'servers/fastify-views.ts', note: 'fastify-views: createApp + SubscriptionView, in-memory broker; each event framed once as an HTTP chunk, one Buffer written to every socket' },
  { name: 'fastify-views-redis', file: 'servers/fastify-views.ts', redis: true, note: 'fastify-views: the same through the Redis broker (a local redis-server started by the runner; the burst publishes are pipelined)' },
  { name: 'fastify-views-view', file: 'servers/fastify-views-view.ts', burst: true, note: 'fastify-views: a ServerSideEventsView whose events() yields broker.subscribe() per client (validation + serialization + framing per client)' }
]
