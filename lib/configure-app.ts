/**
 * configureApp(app, options): the fastify-views plugin registered by a function call, kept for existing code;
 * `await app.register(fastifyViews, options)` is the same (lib/app/plugin.ts). Nothing in lib/ imports
 * this module, so the plugin can live with the rest of the app layer without a circle of imports.
 */
export { configureApp, fastifyViews, type ConfigureAppOptions } from './app/plugin.js'
export { problemFor, sendProblem, problemErrorHandler } from './problem-reply.js'
