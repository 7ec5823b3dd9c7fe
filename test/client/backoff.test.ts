/** Backoff and Retry-After: the waits, exactly, for fixed random numbers. */
import t from 'tap'
import { backoffDelay, retryAfterDelay, retryAfterMs } from '../../lib/client/backoff.js'

t.test('equal jitter: at least half the doubling delay, at most all of it, capped', async (t) => {
  t.same([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, 1000, 10_000, () => 0)), [500, 1000, 2000, 4000, 5000, 5000])
  t.same([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, 1000, 10_000, () => 0.999999)), [1000, 2000, 4000, 8000, 10_000, 10_000])
  t.equal(backoffDelay(1, 1000, 30_000, () => 0.5), 750)
  t.equal(backoffDelay(10_000, 1000, 30_000, () => 0), 15_000, 'a huge attempt number does not overflow')
  t.equal(backoffDelay(0, 1000, 30_000, () => 0), 500)
})

t.test('Retry-After: delay-seconds or an HTTP date; anything else is ignored', async (t) => {
  const now = Date.parse('2026-12-01T12:00:00Z')
  t.equal(retryAfterMs('2', now), 2000)
  t.equal(retryAfterMs(' 0 ', now), 0)
  t.equal(retryAfterMs('Tue, 01 Dec 2026 12:00:05 GMT', now), 5000)
  t.equal(retryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', now), 0, 'a date in the past: at once')
  t.equal(retryAfterMs(null, now), undefined)
  t.equal(retryAfterMs('-1', now), undefined)
  t.equal(retryAfterMs('soon', now), undefined)
  t.equal(retryAfterDelay(2000, () => 0), 2000, 'never less than the server said')
  t.equal(retryAfterDelay(2000, () => 0.999999), 2500, 'up to a quarter more')
  t.equal(retryAfterDelay(60_000, () => 0.999999), 61_000, 'at most a second more')
})
