/**
 * Stocks (fastapi-views' Server-Sent Events example, in TypeScript): a ServerSideEventsView whose
 * `events()` generator is the stream, and an `@sseRoute` for a further stream on the same view.
 *
 * - `GET /stocks` streams `price` events `{ symbol, price }`: every symbol, or one with `?symbol=`; with
 *   `?limit=N` it ends after N prices (Swagger UI's "Try it out" waits for a response to end).
 * - `GET /stocks/custom-events` streams two `data` events `{ id, name }`, then ends.
 *
 * The definition types every yielded event (a wrong `data` does not compile), validates it at run time
 * with a compiled validator, serialises it with a compiled serializer, and documents it in OpenAPI.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { createApp, NotFoundError, ServerSideEventsView, sseRoute, ViewRouter, FVIEWS_ERR_OPTION_INVALID, type CreateAppOptions } from '../../lib/index.js'

export const StockPrice = Type.Object({
  symbol: Type.String({ description: 'Ticker symbol', examples: ['AAPL'] }),
  price: Type.Number({ description: 'Price in USD', examples: [182.5] })
}, { $id: 'StockPrice' })
export const APIModel = Type.Object({ id: Type.Integer(), name: Type.String() }, { $id: 'APIModel' })
export type StockPrice = Static<typeof StockPrice>

/** Opening prices; the feed below moves them on a fixed curve, so every client sees the same prices. */
export const OPENING: Readonly<Record<string, number>> = { AAPL: 182.5, MSFT: 415.1, NVDA: 121.4 }

/** The price of `symbol` at tick `n`: within 2% of its opening price, rounded to cents. */
export function priceAt (symbol: string, n: number): number {
  return Math.round(OPENING[symbol] * (1 + 0.02 * Math.sin(n / 3)) * 100) / 100
}

export function stockViews (intervalMs: number) {
  return class Stocks extends ServerSideEventsView({
    querystring: Type.Object({
      symbol: Type.Optional(Type.String({ pattern: '^[A-Z]{1,5}$', description: 'Only this symbol (default: all)' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'End the stream after this many prices (default: never)' }))
    }),
    data: StockPrice,
    events: ['price'],
    summary: 'Stream stock prices',
    description: 'One `price` event per symbol every interval. Endless unless `limit` is given.',
    tags: ['stocks'],
    errors: [404],
    example: 'id: 0195b4d2-7c3e-7d1a-9f1e-3a2b1c0d9e8f\nevent: price\ndata: {"symbol":"AAPL","price":182.5}\n\n'
  }) {
    // Runs before anything is streamed: an unknown symbol is an ordinary 404 problem document.
    beforeStream () {
      const { symbol } = this.query
      if (symbol !== undefined && !(symbol in OPENING)) throw new NotFoundError(`Unknown symbol '${symbol}'; known: ${Object.keys(OPENING).join(', ')}`)
    }

    async * events () {
      const symbols = this.query.symbol === undefined ? Object.keys(OPENING) : [this.query.symbol]
      let sent = 0
      for (let tick = 0; ; tick++) {
        for (const symbol of symbols) {
          yield { event: 'price' as const, data: { symbol, price: priceAt(symbol, tick) } }
          if (++sent === this.query.limit) return
        }
        // Race every wait against the signal: a client that leaves stops the generator at once.
        await sleep(intervalMs, undefined, { signal: this.signal })
      }
    }

    @sseRoute('/custom-events', {
      data: APIModel,
      events: ['data'],
      summary: 'Stream two custom events',
      tags: ['stocks'],
      example: 'id: 0195b4d2-7c3e-7d1a-9f1e-3a2b1c0d9e8f\nevent: data\ndata: {"id":1,"name":"first"}\n\n'
    })
    async * customEvents () {
      yield { event: 'data' as const, data: { id: 1, name: 'first' } }
      await sleep(intervalMs, undefined, { signal: this.signal })
      yield { event: 'data' as const, data: { id: 2, name: 'second' } }
    }
  }
}

export interface StocksOptions extends CreateAppOptions {
  /** Milliseconds between prices; default STOCKS_INTERVAL_MS from the environment, else 1000. */
  intervalMs?: number
}

function intervalFrom (env: Record<string, string | undefined>): number {
  const raw = env.STOCKS_INTERVAL_MS
  if (raw === undefined || raw === '') return 1000
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1 || value > 3_600_000) throw new FVIEWS_ERR_OPTION_INVALID('STOCKS_INTERVAL_MS', `expected an integer from 1 to 3600000, got '${raw}'`)
  return value
}

export async function build (options: StocksOptions = {}): Promise<FastifyInstance> {
  const { intervalMs = intervalFrom(options.env ?? process.env), ...appOptions } = options
  const app = await createApp({
    title: 'fastify-views stocks',
    version: '1.0.0',
    license: { name: 'MIT', identifier: 'MIT' },
    description: 'Stock prices as typed Server-Sent Events (fastapi-views\' SSE example).',
    ...appOptions
  })
  const router = new ViewRouter()
  router.registerView(stockViews(intervalMs), { prefix: '/stocks' })
  await app.register(router.plugin)
  return app
}
