/** Bounded waits: a failing test names what it waited for instead of hanging until tap's timeout. */

/** Polls `check` (every `everyMs`) until it holds; throws with `what` after `limitMs`. */
export async function until (check: () => boolean | Promise<boolean>, what: string | (() => string), limitMs = 10_000, everyMs = 2): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`timed out after ${limitMs} ms waiting until ${typeof what === 'function' ? what() : what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Rejects with `what` when `promise` takes longer than `ms`: a failing test names what it waited for. */
export function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
