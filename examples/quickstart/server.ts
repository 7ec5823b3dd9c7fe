/** Runs the quickstart: `npm start` (HOST and PORT choose where it listens). */
import { build } from './app.js'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 3000)
const app = await build({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
await app.listen({ host, port })
app.log.info(`Swagger UI: http://${host}:${port}/docs`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { void app.close().then(() => process.exit(0)) })
}
