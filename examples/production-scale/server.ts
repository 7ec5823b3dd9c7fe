/**
 * One production-scale instance: `REDIS_URL=redis://... PORT=3001 npx tsx examples/production-scale/server.ts`.
 * start-local.sh starts several; the Dockerfile runs one per container.
 * HOST (127.0.0.1), PORT (3000), LOG_LEVEL (info), LOG_FORMAT (pretty on a terminal; json), REDIS_URL (required); SSE_HEARTBEAT_SECONDS, TOPIC_PREFIX and
 * CORS_ORIGINS are read by createApp.
 */
import { closeOnSignals } from '../../lib/index.js'
import { build } from './app.js'
import { announce, exampleLogger } from '../terminal.js'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)
const app = await build({
  fastify: { logger: exampleLogger() },
  // On SIGTERM, open streams end over 2 s, each at a random moment, so their clients do not all reconnect
  // (to the other instances) at once.
  drainMs: 2000
})
await app.listen({ host, port })
announce([`fastify-views production-scale instance: http://${host}:${port}/ (health: /health)`])

// On SIGTERM or Ctrl-C: stop accepting, end the open streams (their clients reconnect and resume), exit.
closeOnSignals(app)
