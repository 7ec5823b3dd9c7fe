/**
 * Shared by the client's tests: a recorder of everything a stream reports (waits resolve on the report
 * itself, bounded, naming what they waited for), and a fetch that can be pointed at another instance and
 * remembers every attempt it made.
 */
import type { EventStream, FetchLike, StateChange } from '../../lib/client/index.js'
import type { EventStreamError } from '../../lib/client/errors.js'
import type { ResetInfo } from '../../lib/client/types.js'

export interface Recorded {
  events: Array<[string, unknown]>
  ids: string[]
  states: StateChange[]
  errors: EventStreamError[]
  resets: ResetInfo[]
  /** Resolves once `check()` holds, re-checked at every report; rejects after `ms` naming `what`. */
  until: (check: () => boolean, what: string, ms?: number) => Promise<void>
}

export function record (stream: EventStream<any>, names: string[]): Recorded {
  const waiters: Array<() => void> = []
  const notify = (): void => { for (const waiter of [...waiters]) waiter() }
  const recorded: Recorded = {
    events: [],
    ids: [],
    states: [],
    errors: [],
    resets: [],
    until: (check, what, ms = 15_000) => new Promise((resolve, reject) => {
      if (check()) { resolve(); return }
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1)
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; events ${JSON.stringify(recorded.events)}, states ${JSON.stringify(recorded.states)}`))
      }, ms)
      const waiter = (): void => {
        if (!check()) return
        clearTimeout(timer)
        waiters.splice(waiters.indexOf(waiter), 1)
        resolve()
      }
      waiters.push(waiter)
    })
  }
  for (const name of names) {
    stream.on(name, (data: unknown, meta: { lastEventId: string }) => {
      recorded.events.push([name, data])
      recorded.ids.push(meta.lastEventId)
      notify()
    })
  }
  stream.onState((change) => { recorded.states.push(change); notify() })
  stream.onError((error) => { recorded.errors.push(error); notify() })
  stream.onReset((info) => { recorded.resets.push(info); notify() })
  void stream.ended.then(notify)
  return recorded
}

export interface Attempt { url: string, headers: Record<string, string>, at: number, status?: number }

/** A fetch whose target origin can be switched (an instance going away, another taking over). */
export function switchingFetch (origin: string): { fetch: FetchLike, attempts: Attempt[], target: { origin: string } } {
  const target = { origin }
  const attempts: Attempt[] = []
  const fetcher: FetchLike = async (url, init) => {
    const attempt: Attempt = { url: url.replace(origin, target.origin), headers: { ...init.headers }, at: Date.now() }
    attempts.push(attempt)
    const response = await fetch(attempt.url, init as RequestInit)
    attempt.status = response.status
    return response
  }
  return { fetch: fetcher, attempts, target }
}

/** The states as `state/reason`, what a test compares. */
export const stateNames = (states: StateChange[]): string[] => states.map(({ state, reason }) => reason === undefined ? state : `${state}/${reason}`)
