/**
 * Runs the stocks example: `npm run example:stocks`.
 * HOST (127.0.0.1), PORT (3000), LOG_LEVEL (info), STOCKS_INTERVAL_MS (1000); REDIS_URL,
 * SSE_HEARTBEAT_SECONDS and CORS_ORIGINS are read by createApp.
 */
import { closeOnSignals } from '../../lib/index.js'
import { build } from './app.js'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)
const app = await build({ fastify: { logger: { level: process.env.LOG_LEVEL ?? 'info' } } })
await app.listen({ host, port })
app.log.info(`try: curl -N http://${host}:${port}/stocks - Swagger UI at http://${host}:${port}/docs`)

// On SIGTERM or Ctrl-C: stop accepting, end the open streams (their clients reconnect and resume), exit.
closeOnSignals(app)
