import t from 'tap'
import { resolveSettings } from '../../lib/app/settings.js'

t.test('settings fall back to environment variables', async (t) => {
  t.same(resolveSettings({}, {}), { redisUrl: undefined, redisCluster: undefined, topicPrefix: '', heartbeatSeconds: 15, corsOrigins: false, ssePath: false })
  t.same(resolveSettings({}, { REDIS_URL: 'redis://r:6380/2', TOPIC_PREFIX: 'app1:', SSE_HEARTBEAT_SECONDS: '30', CORS_ORIGINS: 'https://a.example, https://b.example' }),
    { redisUrl: 'redis://r:6380/2', redisCluster: undefined, topicPrefix: 'app1:', heartbeatSeconds: 30, corsOrigins: ['https://a.example', 'https://b.example'], ssePath: false })
  t.same(resolveSettings({}, { REDIS_HOST: 'cache', REDIS_PORT: '6390', REDIS_DB: '3' }).redisUrl, 'redis://cache:6390/3')
  t.same(resolveSettings({}, { CORS_ORIGINS: '*' }).corsOrigins, true)
  t.same(resolveSettings({}, { REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002' }).redisCluster,
    [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }])
  t.same(resolveSettings({ redisUrl: 'redis://x:1/0', heartbeatSeconds: 0, corsOrigins: true }, { REDIS_URL: 'redis://ignored:2/0' }),
    { redisUrl: 'redis://x:1/0', redisCluster: undefined, topicPrefix: '', heartbeatSeconds: 0, corsOrigins: true, ssePath: false })
})

t.test('a bad setting stops startup with a message naming it and the accepted range', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ SSE_HEARTBEAT_SECONDS: 'soon' }, "Invalid setting 'SSE_HEARTBEAT_SECONDS': expected a number of seconds from 0 (off) to 3600, got 'soon'"],
    [{ SSE_HEARTBEAT_SECONDS: '-1' }, "Invalid setting 'SSE_HEARTBEAT_SECONDS': expected a number of seconds from 0 (off) to 3600, got '-1'"],
    [{ REDIS_URL: 'http://x' }, "Invalid setting 'REDIS_URL': expected a redis:// or rediss:// URL, got 'http://x'"],
    [{ REDIS_PORT: '99999' }, "Invalid setting 'REDIS_PORT': expected an integer from 1 to 65535, got '99999'"],
    [{ REDIS_DB: 'one' }, "Invalid setting 'REDIS_DB': expected an integer from 0 to 15, got 'one'"],
    [{ TOPIC_PREFIX: 'a b' }, "Invalid setting 'TOPIC_PREFIX': expected at most 64 characters without whitespace, control characters or braces, got 'a b'"],
    [{ REDIS_CLUSTER_NODES: 'localhost' }, "Invalid setting 'REDIS_CLUSTER_NODES': expected comma-separated host:port pairs, got 'localhost'"],
    [{ REDIS_CLUSTER_NODES: 'h:70000' }, "Invalid setting 'REDIS_CLUSTER_NODES': expected an integer from 1 to 65535, got '70000'"],
    [{ SSE_REDIS_URL: 'http://x' }, "Invalid setting 'SSE_REDIS_URL': expected a redis:// or rediss:// URL, got 'http://x'"],
    [{ SSE_TOPIC_PREFIX: 'a b' }, "Invalid setting 'SSE_TOPIC_PREFIX': expected at most 64 characters without whitespace, control characters or braces, got 'a b'"],
    [{ SSE_PATH: 'sse' }, "Invalid setting 'SSE_PATH': expected a path starting with '/' without spaces, '?' or '#', e.g. /sse, got 'sse'"],
    [{ CORS_ORIGINS: 'not a url' }, "Invalid setting 'CORS_ORIGINS': expected '*' or comma-separated origins like https://app.example.com, got 'not a url'"]
  ]
  for (const [env, message] of cases) t.throws(() => resolveSettings({}, env), { code: 'FVIEWS_ERR_OPTION_INVALID', message }, message)
})

t.test("the seed's production variables: SSE_REDIS_URL, SSE_TOPIC_PREFIX, SSE_PATH win over the short names", async (t) => {
  const env = { SSE_REDIS_URL: 'redis://seed:6380/1', REDIS_URL: 'redis://short:6381/0', SSE_TOPIC_PREFIX: 'production', TOPIC_PREFIX: 'other', SSE_PATH: '/sse', SSE_HEARTBEAT_SECONDS: '30' }
  t.same(resolveSettings({}, env), { redisUrl: 'redis://seed:6380/1', redisCluster: undefined, topicPrefix: 'production', heartbeatSeconds: 30, corsOrigins: false, ssePath: '/sse' })
  t.same(resolveSettings({ redisUrl: 'redis://option:1/0', topicPrefix: 'opt', ssePath: false }, env),
    { redisUrl: 'redis://option:1/0', redisCluster: undefined, topicPrefix: 'opt', heartbeatSeconds: 30, corsOrigins: false, ssePath: false })
  t.same(resolveSettings({ ssePath: '/events' }, {}).ssePath, '/events')
  t.throws(() => resolveSettings({ ssePath: 'events' }, {}), { code: 'FVIEWS_ERR_OPTION_INVALID', message: "Invalid setting 'ssePath': expected a path starting with '/' without spaces, '?' or '#', e.g. /sse, got 'events'" })
})
