/**
 * The fault proxy itself (test/helpers/fault-proxy.ts), with real ioredis clients through it to a real
 * redis-server: it tells connections apart by the name they give themselves, and each fault does what it
 * says - per role and per direction - and is undone by resume.
 */
import t from 'tap'
import { connect } from 'node:net'
import { Redis } from 'ioredis'
import { startRedis } from '../helpers/redis-server.js'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import { sleep, until } from '../helpers/wait.js'

const redis = await startRedis({ t })

function client (url: string, role: string): Redis {
  return new Redis(url, { connectionName: `fastify-views:${role}`, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 })
}

t.test('roles from CLIENT SETNAME; delay, stall, drop, cut, refuse and resume', async (t) => {
  const proxy = await startFaultProxy(redis.port, t)
  const publisher = client(proxy.url, 'publisher')
  const subscriber = client(proxy.url, 'subscriber')
  publisher.on('error', () => {})
  subscriber.on('error', () => {})
  t.teardown(() => { publisher.disconnect(); subscriber.disconnect() })
  await Promise.all([publisher.connect(), subscriber.connect()])
  await until(() => proxy.connections('publisher').length === 1 && proxy.connections('subscriber').length === 1, 'both roles known')
  t.equal(proxy.connections().length, 2)

  // delay: only the publisher's replies are late; the subscriber's are not.
  proxy.delay(300, { role: 'publisher', direction: 'down' })
  const started = Date.now()
  const order: string[] = []
  await Promise.all([
    publisher.ping().then(() => { order.push('publisher'); t.ok(Date.now() - started >= 290, `the publisher's reply waited (${Date.now() - started} ms)`) }),
    subscriber.ping().then(() => order.push('subscriber'))
  ])
  // Sent at the same moment: the undelayed reply wins by 300 ms, however loaded the machine.
  t.same(order, ['subscriber', 'publisher'], 'the subscriber is not delayed')
  let answered = false

  // stall: the command reaches Redis only after resume, and its reply then arrives.
  proxy.stall({ role: 'publisher', direction: 'up' })
  const set = publisher.set('fp:stalled', '1').then(() => { answered = true })
  await sleep(200)
  t.equal(answered, false, 'no reply while stalled')
  t.equal(await redis.cli('EXISTS', 'fp:stalled'), '0', 'the command did not reach Redis')
  proxy.resume({ role: 'publisher' })
  await set
  t.equal(await redis.cli('GET', 'fp:stalled'), '1', 'it ran after resume')

  // drop: pub/sub messages to the subscriber vanish while the connection stays open.
  const got: string[] = []
  subscriber.on('message', (_channel: string, message: string) => got.push(message))
  await subscriber.subscribe('fp:ch')
  proxy.drop({ role: 'subscriber', direction: 'down' })
  await publisher.publish('fp:ch', 'lost')
  await sleep(100)
  proxy.resume()
  await publisher.publish('fp:ch', 'kept')
  await until(() => got.length > 0, 'a message arrives after resume')
  t.same(got, ['kept'], 'the dropped message never arrives')
  t.equal(subscriber.status, 'ready', 'the subscriber stayed connected')

  // cut: the connections of a role close; the client reconnects through the proxy.
  t.equal(proxy.cut({ role: 'subscriber' }), 1)
  await until(() => subscriber.status !== 'ready', 'the subscriber noticed')
  await until(() => subscriber.status === 'ready' && proxy.connections('subscriber').length === 1, 'it reconnected')

  // refuse: a new connection is closed on arrival until refusal ends; open ones are left alone.
  await proxy.refuse()
  t.equal(await rawPing(proxy.port), 'closed', 'a new connection is refused')
  t.equal(await publisher.ping(), 'PONG', 'an open connection still works')
  await proxy.refuse(false)
  t.equal(await rawPing(proxy.port), '+PONG', 'accepted again')
})

/** PING on a fresh raw connection: the reply line, or 'closed' when the connection closed first. */
function rawPing (port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) { socket.destroy(); resolve(reply.slice(0, reply.indexOf('\r\n'))) }
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve('closed'))
  })
}
