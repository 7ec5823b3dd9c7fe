/**
 * The decorators of fastify-views (`@get`, `@post`, ..., `@sseRoute`, `@publishEvent`) are TC39 standard
 * decorators. Under `experimentalDecorators: true` TypeScript calls a method decorator with
 * `(target, propertyKey, descriptor)`: each decorator has an overload for that call returning this type,
 * so the compiler's error names the fix -
 *   TS1270: Decorator function return type 'StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig' ...
 * - instead of an unexplained TS1241 on every decorator.
 */
export interface StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig {
  'fastify-views decorators are TC39 standard decorators: remove "experimentalDecorators" from tsconfig.json, or use applyDecorators()': true
}
