/**
 * Retention settings, checked against the stream budget at startup (issue 11 #4). A client closed for
 * slowness lacks at most its byte budget plus what its socket buffers held; history keeps every event of
 * the last `historyWindowSeconds` and, of older ones, the newest `historyBytes` - so when historyBytes covers
 * that, such a client that reconnects within the window resumes exactly. `historySize` only caps the count.
 */
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'
import { DEFAULT_HISTORY_BYTES, DEFAULT_HISTORY_WINDOW_SECONDS, EVENT_OVERHEAD_BYTES, SOCKET_ALLOWANCE_BYTES } from './contract.js'

export interface RetentionInput {
  historyBytes?: number
  historyWindowSeconds?: number
  historySize?: number
}

export interface Retention {
  historyBytes: number
  historyWindowSeconds: number
  historySize: number
}

function integer (name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FVIEWS_ERR_OPTION_INVALID(name, `expected an integer from ${min} to ${max}, got '${String(value)}'`)
  }
  return value
}

/** The least historyBytes that covers a stream of this budget closed for slowness. */
export function historyBytesFor (budgetBytes: number): number {
  return budgetBytes + SOCKET_ALLOWANCE_BYTES
}

/** Why `historyBytes` cannot honour the resume guarantee for streams of `budgetBytes`, or undefined. */
export function retentionProblem (historyBytes: number, budgetBytes: number): string | undefined {
  const least = historyBytesFor(budgetBytes)
  if (historyBytes >= least) return undefined
  return `${historyBytes} bytes of history per topic cannot replay what a stream closed for slowness lacks: ` +
    `budgetBytes (${budgetBytes}) plus ${SOCKET_ALLOWANCE_BYTES} bytes of socket buffers. ` +
    `Set historyBytes to at least ${least}, or lower budgetBytes`
}

/** Validated retention for a broker whose streams have the given budget; throws FVIEWS_ERR_OPTION_INVALID. */
export function resolveRetention (input: RetentionInput, budgetBytes: number): Retention {
  const historyBytes = integer('historyBytes', input.historyBytes ?? DEFAULT_HISTORY_BYTES, 0, 2 ** 40)
  const historyWindowSeconds = integer('historyWindowSeconds', input.historyWindowSeconds ?? DEFAULT_HISTORY_WINDOW_SECONDS, 0, 24 * 3600)
  // 0 is refused: history is what resume and catch-up read (a count of 0 broke Redis delivery, issue 11 #8).
  const historySize = integer('historySize', input.historySize ?? Math.ceil(historyBytes / EVENT_OVERHEAD_BYTES), 1, 100_000_000)
  const problem = retentionProblem(historyBytes, budgetBytes)
  if (problem !== undefined) throw new FVIEWS_ERR_OPTION_INVALID('historyBytes', problem)
  return { historyBytes, historyWindowSeconds, historySize }
}
