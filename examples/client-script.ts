/**
 * The browser build of fastify-views/client for the example pages: lib/client/ bundled into one ES module,
 * served at `/client.js`. (An app that installs the package serves or bundles
 * `fastify-views/client` with its own page instead; the examples run from the sources, with no build step.)
 */
import { build } from 'esbuild'
import type { FastifyInstance } from 'fastify'

const ENTRY = new URL('../lib/client/index.ts', import.meta.url).pathname

// Bundled once per process: the sources do not change while it runs, and tests build many apps.
let bundled: Promise<string> | undefined

/** The client as one ES module for browsers. */
export function clientScript (): Promise<string> {
  bundled ??= build({ entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' })
    .then((result) => result.outputFiles[0].text)
  return bundled
}

/**
 * Serves the client at `/client.js`, bundled on the first request for it: an instance that never serves the
 * page (production-scale's, behind a load test) never starts esbuild, and startup does not wait for it.
 */
export async function serveClientScript (app: FastifyInstance): Promise<void> {
  app.get('/client.js', { schema: { hide: true } }, async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(await clientScript()))
}
