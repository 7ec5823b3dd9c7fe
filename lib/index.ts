// Public API of fastify-views: exports only.
export * from './errors.js'
export * from './http-errors.js'
export { ProblemDetails, ValidationIssue, PROBLEM_CONTENT_TYPE, problem, type ProblemDocument } from './problem.js'
export { configureApp, problemFor, sendProblem, type ConfigureAppOptions } from './configure-app.js'
export { View, isViewClass, bindView } from './views/view.js'
export { APIView, APIViewBase, type APIViewDefinition, type APIViewInstance, type TypedView, type DefinedViewClass } from './views/api-view.js'
export {
  ListView, CreateView, RetrieveView, UpdateView, DestroyView, ListCreateView, RetrieveUpdateView,
  RetrieveDestroyView, RetrieveUpdateDestroyView, ReadOnlyViewSet, ViewSet, ModelViewSet, GenericViewBase,
  type GenericDefinition, type GenericOperation, type GenericViewInstance
} from './views/generic.js'
export { route, get, post, put, patch, del, applyDecorators, type ActionContext, type ActionSchema, type ActionOptions } from './views/actions.js'
export type { RouteSpec, ViewClass } from './views/route-spec.js'
export type { OperationSchema, OperationDocs, ResponseMap, SharedSchema, RouteContext, SuccessBody, MaybePromise } from './views/types.js'
export { ViewRouter, VIEW_ROUTE_CONFIG, type ViewRouterOptions, type RegisterViewOptions, type MountedRoute } from './router/view-router.js'
export { registerOpenAPI, OPENAPI_VERSION, type OpenAPIOptions } from './openapi/swagger.js'
export { encodeFrame, encodeComment, encodeData, type SSEFrameFields } from './sse/encoder.js'
export { ServerSideEventsView, SSEViewBase, type SSEViewDefinition, type SSEViewInstance } from './views/sse-view.js'
export { sseRoute } from './views/sse-route.js'
export type { ServerSentEvent, SSEContext, SSERouteDefinition, EventOf, EventNameOf, EventDataOf, EventDataFor } from './sse/types.js'
export type { EventSchemaDefinition } from './sse/event-schema.js'
export { EventStream, EVENT_STREAM_HEADERS, type StartOptions, type CloseReason } from './sse/stream.js'
export { StreamRegistry, type StreamSettings } from './sse/registry.js'
export { lastEventIdOf, MAX_LAST_EVENT_ID_LENGTH } from './sse/endpoint.js'
