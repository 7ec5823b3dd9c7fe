/**
 * Holds a reply's answer until something asynchronous has happened with the body being sent - publishEvent
 * uses it so that no 2xx leaves before the broker accepted the event, whatever way the handler answers.
 *
 * A handler answers by returning a value, by `reply.send(x)` (then returning `reply`, or nothing), or by a
 * `reply.send(x)` from a callback after it returned. Fastify's hooks cannot cover all of these from a handler
 * wrapper (the function form has no route of its own to hook into), so the reply's `send` is shadowed for
 * this one request: the first successful answer is held, `beforeAnswer(body)` runs, and only then does
 * Fastify's own `send` see the body - or, when `beforeAnswer` fails, the error (the error handler turns it
 * into a problem document). Errors and 4xx/5xx answers pass straight through: they change nothing to announce.
 */
import type { FastifyReply } from 'fastify'

export interface HeldAnswer {
  /** True once a successful answer was taken and is waiting for (or past) `beforeAnswer`. */
  readonly taken: boolean
  /** Sends a value the handler returned, through the hold; resolves once the answer has left. */
  send: (body: unknown) => Promise<void>
  /** Resolves once a taken answer has left (the response finished or failed). */
  finished: () => Promise<void>
  /** Stops holding: later sends go straight to Fastify. */
  release: () => void
}

export function holdAnswer (reply: FastifyReply, beforeAnswer: (body: unknown) => Promise<void>): HeldAnswer {
  const fastifySend = reply.send
  let taken = false
  let left: Promise<void> | undefined
  const release = (): void => {
    // Only our own shadow is removed; the prototype's send is Fastify's.
    if (Object.prototype.hasOwnProperty.call(reply, 'send') && reply.send === heldSend) delete (reply as { send?: unknown }).send
  }
  function heldSend (this: FastifyReply, body?: unknown): FastifyReply {
    if (taken) {
      // A second answer while the first is held: Fastify drops it once a reply was sent, and so do we -
      // letting it through would send it ahead of the held one.
      reply.log.warn({ url: reply.request.url }, 'publishEvent: the reply was already sent; this second answer is dropped')
      return reply
    }
    if (body instanceof Error || reply.statusCode >= 400) return fastifySend.call(reply, body)
    taken = true
    left = beforeAnswer(body).then(
      () => { release(); fastifySend.call(reply, body) },
      (error: unknown) => { release(); fastifySend.call(reply, error instanceof Error ? error : new Error(String(error))) }
    ).then(async () => { await answerLeft(reply) }, (error: unknown) => {
      // Fastify's send threw (a send inside an onError hook...): nobody may be awaiting this promise (a
      // callback-style handler), so it must not reject - log it where Fastify would.
      reply.log.error({ err: error }, 'the held answer could not be sent')
    })
    return reply
  }
  (reply as { send: unknown }).send = heldSend
  return {
    get taken () { return taken },
    async send (body) {
      heldSend.call(reply, body)
      await left
    },
    async finished () { await left },
    release
  }
}

/** Resolves when the response has ended (or its connection closed): `reply.then` waits for exactly that. */
async function answerLeft (reply: FastifyReply): Promise<void> {
  await new Promise<void>((resolve) => { reply.then(() => resolve(), () => resolve()) })
}
