/**
 * Runs the CRM example: `npm run example:crm-comments`, then open http://127.0.0.1:3000/ and pick a user.
 * HOST (127.0.0.1), PORT (3000), LOG_LEVEL (info), LOG_FORMAT (pretty on a terminal; json); REDIS_URL, SSE_HEARTBEAT_SECONDS, TOPIC_PREFIX and
 * CORS_ORIGINS are read by createApp.
 */
import type { FastifyRequest } from 'fastify'
import { closeOnSignals } from '../../lib/index.js'
import { build, redactToken } from './app.js'
import { announce, exampleLogger } from '../terminal.js'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)
const app = await build({
  fastify: {
    logger: exampleLogger({
      // EventSource sends its token in the URL: keep it out of the log.
      serializers: { req: (request: FastifyRequest) => ({ method: request.method, url: redactToken(request.url), remoteAddress: request.ip }) }
    })
  }
})
await app.listen({ host, port })
announce([`fastify-views CRM comments: open http://${host}:${port}/ and pick a demo user`, `Swagger UI: http://${host}:${port}/docs`])

// On SIGTERM or Ctrl-C: stop accepting, end the open streams (their clients reconnect and resume), exit.
closeOnSignals(app)
