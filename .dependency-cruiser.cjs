/**
 * The floors of lib/, as dependency-cruiser rules (`npm run depcruise`, and a phase of `npm test`).
 *
 * A module imports only from its own floor or the floors below it, type-only imports included, and no
 * two modules import each other, directly or round a loop: then each floor can be read, tested and
 * replaced knowing only what lies beneath it (issue 15; undici's core/ and dispatcher contract, fastify's
 * lib/symbols.js and lib/errors.js are the models).
 *
 * Lowest first:
 *   0 core      errors, http-errors, problem documents, problem replies, the shared symbols, defaults,
 *               closest-name (did-you-mean), http/ (Accept
 *               negotiation, client errors, body validation): what every floor may throw, answer or key with.
 *   1 sse       the transport: frame encoder, event stream, stream registry, route options, the connection
 *               (sse/connection.ts). It streams bytes; it knows nothing of views, routes, topics or brokers.
 *   2 broker    topics, offsets, history, subscriptions, the memory and Redis backends. From sse it takes
 *               only the frame encoder (to check event names and pre-frame events once for every client):
 *               loading the broker must not load the stream machinery or the view route builder.
 *   3 views     view classes, decorators, route specs, the SSE endpoint of a view and its event schemas.
 *   4 router    ViewRouter: mounts route specs as Fastify routes, builds their schemas.
 *   5 topics    the HTTP face of the broker: SubscriptionView, subscribeToEvents, publishEvent, metrics.
 *   6 openapi   the @fastify/swagger registration.
 *   7 app       the plugin, createApp, settings, signals, and the Fastify augmentation (augment.ts).
 *   8 entry     the package's entry points: index.ts (`fastify-views`), redis.ts (`fastify-views/redis`),
 *               testing/ (`fastify-views/testing`), client/ (`fastify-views/client`, `/react`: browsers load it, so
 *               it takes only types from the server's floors - see client-loads-no-server-code).
 *               One floor, so testing/ may import client/ (it reads streams with the client's parser and types
 *               them with the client's ViewEventsOf); the client never imports testing/ (no-circular, and
 *               client-loads-no-server-code allows it types only from outside client/).
 */
const FLOORS = [
  { name: 'core', path: '^lib/(errors|http-errors|problem|problem-reply|symbols|defaults|closest-name)\\.ts$|^lib/http/' },
  { name: 'sse', path: '^lib/sse/' },
  { name: 'broker', path: '^lib/broker/' },
  { name: 'views', path: '^lib/views/' },
  { name: 'router', path: '^lib/router/' },
  { name: 'topics', path: '^lib/topics/' },
  { name: 'openapi', path: '^lib/openapi/' },
  { name: 'app', path: '^lib/app/|^lib/augment\\.ts$' },
  { name: 'entry', path: '^lib/(index|redis)\\.ts$|^lib/testing/|^lib/client/' }
]

// One rule per floor: nothing above it. Listed by name, so a violation says which floor reached up.
const upward = FLOORS.slice(0, -1).map((floor, i) => ({
  name: `${floor.name}-imports-no-higher-floor`,
  comment: `Floor ${i} (${floor.name}) may import only from floors 0-${i}: not ${FLOORS.slice(i + 1).map((f) => f.name).join(', ')}.`,
  severity: 'error',
  from: { path: floor.path },
  to: { path: FLOORS.slice(i + 1).map((f) => `(${f.path})`).join('|') }
}))

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import loop among lib/ files, type-only imports included: a loop ties its modules into one.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true }
    },
    ...upward,
    {
      name: 'lib-has-a-floor',
      comment: 'Every lib/ module sits on a floor: a new folder or root module gets a place in FLOORS first.',
      severity: 'error',
      from: { path: '^lib/', pathNot: FLOORS.map((f) => `(${f.path})`).join('|') },
      to: {}
    },
    {
      name: 'broker-takes-only-the-encoder-from-sse',
      comment: 'The broker pre-frames events with the encoder; streams, registries and connections are not its business.',
      severity: 'error',
      from: { path: '^lib/broker/' },
      to: { path: '^lib/sse/', pathNot: '^lib/sse/encoder\\.ts$' }
    },
    {
      name: 'client-loads-no-server-code',
      comment: 'fastify-views/client runs in browsers: from the rest of lib/ it may import types only (its typing by type import), never code.',
      severity: 'error',
      from: { path: '^lib/client/' },
      to: { path: '^lib/', pathNot: '^lib/client/', dependencyTypesNot: ['type-only'] }
    },
    {
      name: 'lib-imports-no-tests',
      comment: 'The published library cannot reach test/, bench/, examples/ or scripts/.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(test|bench|examples|scripts)/' }
    },
    {
      name: 'lib-imports-no-dev-dependency',
      comment: 'A package lib/ imports must be a dependency or a peer: a devDependency is missing from an installed package.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['npm-peer', 'type-only'] }
    },
    {
      name: 'lib-imports-only-declared-packages',
      comment: 'Every package lib/ imports is declared in package.json.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown', 'unknown', 'undetermined'], dependencyTypesNot: ['npm', 'npm-peer', 'npm-optional'] }
    }
  ],
  options: {
    // Type-only imports count: `import type` loops and upward type imports are what the floors forbid too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } }
  }
}
