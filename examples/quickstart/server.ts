/**
 * Runs the quickstart: `npm start` (or `npm run example:quickstart`).
 * HOST (127.0.0.1), PORT (3000), LOG_LEVEL (info), LOG_FORMAT (pretty on a terminal; json); REDIS_URL, SSE_HEARTBEAT_SECONDS, TOPIC_PREFIX and
 * CORS_ORIGINS are read by createApp.
 */
import { closeOnSignals } from '../../lib/index.js'
import { build } from './app.js'
import { announce, exampleLogger } from '../terminal.js'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)
const app = await build({ fastify: { logger: exampleLogger() } })
await app.listen({ host, port })
announce([`fastify-views quickstart: open http://${host}:${port}/ in two windows`, `Swagger UI: http://${host}:${port}/docs`])

// On SIGTERM or Ctrl-C: stop accepting, end the open streams (their clients reconnect and resume), exit.
closeOnSignals(app)
