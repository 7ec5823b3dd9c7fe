/**
 * POST /publish of the servers that publish through the fastify-views broker (fastify-views, -redis,
 * -relay): the K publishes of a round are issued at once and awaited together. A broker keeps the order
 * of publish() calls (Redis: one connection, commands in call order), so with Redis they are pipelined
 * instead of each waiting for the previous round trip.
 */
import type { FastifyInstance } from 'fastify'
import { lastSeq, nextTick, publishParams } from './protocol.js'

export function publishRoute (app: FastifyInstance): void {
  app.post('/publish', async (request) => {
    const { k, b } = publishParams(request.query as Record<string, unknown>)
    const published: Array<Promise<unknown>> = []
    for (let i = 0; i < k; i++) published.push(app.broker.publish('bench', 'tick', nextTick(b)))
    await Promise.all(published)
    return { published: k, lastSeq: lastSeq() }
  })
}
