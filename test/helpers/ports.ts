/** Loopback ports: one free now, and whether one is free (released by a process that ended). */
import { createServer } from 'node:net'

/** A port free on 127.0.0.1 right now (and, with `next`, the one after it too). */
export async function freePort (next = false): Promise<number> {
  const bind = (port: number) => new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const bound = (server.address() as { port: number }).port
      server.close(() => resolve(bound))
    })
  })
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bind(0)
    if (!next || (port < 65535 && await bind(port + 1).then(() => true, () => false))) return port
  }
  throw new Error('no free port')
}

/** True when `port` can be bound on 127.0.0.1 right now. */
export async function isFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}
