// Public API of fastify-views: exports only. The Redis broker is `fastify-views/redis` (ioredis is an
// optional peer dependency). Internals are not exported as values: event streams, the stream registry,
// bindView; topic state, broker messages and subscriptions are exported as types only, because the
// broker's backend contract (history, subscribers, the iterator) names them.
export * from './errors.js'
export * from './http-errors.js'
export { ProblemDetails, ValidationIssue, PROBLEM_CONTENT_TYPE, problem, type ProblemDocument } from './problem.js'
export { configureApp, type ConfigureAppOptions } from './app/plugin.js'
export { problemFor, sendProblem } from './problem-reply.js'

// Views
export { View, isViewClass } from './views/view.js'
export {
  APIView, APIViewBase, type APIViewDefinition, type APIViewInstance, type TypedView, type DefinedViewClass,
  type QueryOf, type RequestBodyOf, type VerbReturn
} from './views/api-view.js'
export {
  ListView, CreateView, RetrieveView, UpdateView, DestroyView, ListCreateView, RetrieveUpdateView,
  RetrieveDestroyView, RetrieveUpdateDestroyView, ReadOnlyViewSet, ViewSet, ModelViewSet, GenericViewBase,
  type GenericDefinition, type GenericOperation, type GenericViewInstance, type GenericClass, type ModelViewSetInstance,
  type AbstractViewClass, type ModelOf, type IdOf, type CreateOf, type UpdateOf, type PartialOf, type Found
} from './views/generic.js'
export {
  route, get, post, put, patch, del, applyDecorators,
  type ActionContext, type ActionSchema, type ActionOptions, type ActionMethod, type MethodDecorator
} from './views/actions.js'
export type { StandardDecoratorsOnly_RemoveExperimentalDecoratorsFromTsconfig } from './views/decorator-mode.js'
export type { RouteSpec, BoundView } from './views/route-spec.js'
export type { ViewClass } from './views/view.js'
export type {
  OperationSchema, OperationDocs, ResponseMap, SharedSchema, RouteContext, SuccessBody, MaybePromise,
  Member, StaticOf, ResponseBodyOf, Verb
} from './views/types.js'
export { ViewRouter, VIEW_ROUTE_CONFIG, type ViewRouterOptions, type RegisterViewOptions, type MountedRoute } from './router/view-router.js'
export { registerOpenAPI, openapiRefResolver, openapiTransformObject, OPENAPI_VERSION, OPENAPI_VERSIONS, type OpenAPIOptions, type OpenAPIVersion } from './openapi/swagger.js'
export { describeEventStreams } from './openapi/event-streams.js'

// Server-Sent Events
export { encodeFrame, encodeComment, encodeData, type SSEFrameFields } from './sse/encoder.js'
export { ServerSideEventsView, SSEViewBase, type SSEViewDefinition, type SSEViewInstance } from './views/sse-view.js'
export { sseRoute, type SSEMethod, type RouteContextOf } from './views/sse-route.js'
export type {
  ServerSentEvent, NamedServerSentEvent, SSEContext, SSERouteDefinition, SSEStream, EventOf, StrictEventOf,
  EventNameOf, EventDataOf, EventDataFor, EventMapOf, ListedNamesOf, DeclaresNames
} from './views/sse-types.js'
export type { EventSchemaDefinition } from './views/event-schema.js'
export { EVENT_STREAM_HEADERS } from './sse/stream.js'
export type { StreamSettings } from './sse/registry.js'
export { lastEventIdOf, MAX_LAST_EVENT_ID_LENGTH } from './sse/route-options.js'

// Topics and brokers
export { Broker } from './broker/broker.js'
export type { BrokerOptions, BrokerHealth, BrokerStats, PublishResult, TopicHistory, TopicSubscriber, TopicSource } from './broker/contract.js'
export { MemoryBroker } from './broker/memory.js'
export { createBroker, type CreateBrokerOptions } from './broker/create-broker.js'
export type { TopicState } from './broker/contract.js'
export type { BrokerMessage, MessageRun } from './broker/message.js'
export { TopicBuilder, inferTopicFromRoute, topicProblem, type TopicRules } from './broker/topic-names.js'
export type { Subscription, SubscriptionSink, ControlEvent, ResetReason } from './broker/subscription.js'
export { TopicEventIterator, type TopicEvent, type SubscribeOptions, type SubscriptionControl } from './broker/topic-events.js'
export {
  publishEvent, publishResult, type PublishEventOptions, type PublishContext, type PublishableResult, type PublishableHandler,
  type CatalogPublisher, type CatalogPublishOptions, type TemplateFilledBy
} from './topics/publish-event.js'
export { SubscriptionView, requestedTopics, type SubscriptionViewOptions, type AuthorizeTopic, type TopicRuntime } from './topics/subscription-view.js'
// The topic catalog (issue 13): topics declared once, with each event's data schema.
export {
  defineTopics, TopicCatalog, isTopicCatalog, type AnyTopicCatalog, type TopicsDefinition, type TopicDeclaration, type ResolvedTopic,
  type TopicEventsOf, type TopicEventsMap, type TopicNameOf, type TopicEventNameOf, type TopicEventDataOf, type TemplateOfName,
  type TemplateName, type TemplateParams, type TemplateParamNames, type TemplatesCarrying, type TopicNameCarrying,
  type CatalogEventName, type CatalogEventData, type CatalogTopic, type TemplateParamText, type SchemaStaticOf, type CatalogDefinitionOf, type CatalogTemplates,
  type CatalogNameOfTemplate, type IntersectionOf
} from './broker/catalog.js'
export { TopicMetrics } from './topics/metrics.js'
// Every event stream's counts by route (app.topicMetrics.streams), and why a stream closed.
export { StreamCounts, type RouteStreamCounts, type CloseReason } from './sse/registry.js'
// Also what loads the `declare module 'fastify'` augmentation (app.broker, app.topicMetrics) for consumers.
export type { FastifyViewsDecorations } from './augment.js'

// Apps
export { createApp, type CreateAppOptions } from './app/create-app.js'
export { resolveSettings, type AppSettings, type SettingsInput } from './app/settings.js'
export { closeOnSignals, type CloseOnSignalsOptions } from './app/signals.js'

// --- The plugin and the seed's API on plain routes (issue 12, engineer D1) ---
export { fastifyViews, fastifyViews as default } from './app/plugin.js'
export { problemErrorHandler } from './problem-reply.js'
export type { FastifyViewsOptions } from './app/plugin-options.js'
export { subscribeToEvents, type SubscribeToEventsOptions, type SubscribeRouteOptions } from './topics/subscribe-to-events.js'
export { TOPIC_ROUTE_CONFIG, type HeartbeatStyle } from './topics/subscription-view.js'
export { registerTopicMetrics, type PrometheusRegistry } from './topics/prometheus.js'

// Problem documents for requests that never reach a route (issue 11 #15): Fastify server options.
export { problemClientErrorHandler, problemFrameworkErrors, type ClientError } from './http/client-errors.js'
