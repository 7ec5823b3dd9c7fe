/**
 * `fastify-views/react`: `useEventStream`, the client's event stream as a React hook - opened when the
 * component mounts (and again when a dependency changes), closed when it unmounts; the connection state,
 * the final error and the cursor as component state. `react` is an optional peer dependency: only this
 * entry imports it.
 *
 *   const { state, error } = useEventStream(() => client.topics([`task:${id}`]), {
 *     updated: (task) => setTask(task)          // typed from the catalog
 *   }, [id], { onReset: () => void refetch() })
 */
import { useEffect, useRef, useState } from 'react'
import type { EventStream } from './event-stream.js'
import type { EventStreamError } from './errors.js'
import type { ConnectionState, EventMeta, ResetInfo } from './types.js'

/** Listeners by event name, typed by the stream's event map. */
export type EventHandlers<M> = { [K in keyof M & string]?: (data: M[K], meta: EventMeta<K>) => void }

export interface EventStreamHookOptions {
  /** A topic stream's `reset`: refetch the state the events would have updated. */
  onReset?: (info: ResetInfo) => void
  /** The server's `event: error` frames and the final error. */
  onError?: (error: EventStreamError) => void
}

export interface EventStreamStatus {
  state: ConnectionState
  /** The final error (a 401, say), once the stream stopped because of it. */
  error: EventStreamError | undefined
  /** The cursor as of the last state change. */
  lastEventId: string
}

/**
 * Opens the stream `open()` returns (null: none for now) and keeps it for the component's life. The
 * handlers may change on every render without reconnecting: the latest are called. The event names
 * listened to are those of the handlers when the stream opens.
 */
export function useEventStream<M extends object> (
  open: () => EventStream<M> | null | undefined,
  handlers: EventHandlers<M>,
  deps: readonly unknown[],
  options: EventStreamHookOptions = {}
): EventStreamStatus {
  const latest = useRef({ handlers, options })
  latest.current = { handlers, options }
  const [status, setStatus] = useState<EventStreamStatus>({ state: 'connecting', error: undefined, lastEventId: '' })

  useEffect(() => {
    const stream = open()
    if (stream === null || stream === undefined) {
      setStatus({ state: 'closed', error: undefined, lastEventId: '' })
      return undefined
    }
    const update = (): void => setStatus({ state: stream.state, error: stream.error, lastEventId: stream.lastEventId })
    update()
    for (const name of Object.keys(latest.current.handlers) as Array<keyof M & string>) {
      stream.on(name, (data, meta) => latest.current.handlers[name]?.(data, meta))
    }
    stream.onState(update)
    stream.onReset((info) => latest.current.options.onReset?.(info))
    stream.onError((error) => latest.current.options.onError?.(error))
    return () => stream.close()
    // The caller's dependencies decide when the stream is opened again.
  }, deps)
  return status
}
