/**
 * What a delivery test published - every attempt, with its outcome - and the notes clients received, in the
 * compact forms the tests compare exactly.
 */

export interface Note { topic: string, n: number }

export interface Attempt extends Note {
  ok: boolean
  epoch?: string
  offset?: number
  error?: string
}

/** Every publish attempt of a test, in order: `n` is the attempt's global sequence number. */
export class Ledger {
  readonly attempts: Attempt[] = []

  get succeeded (): Attempt[] { return this.attempts.filter((attempt) => attempt.ok) }
  get failed (): Attempt[] { return this.attempts.filter((attempt) => !attempt.ok) }

  /** Publishes `{ topic, n }` as event `note` through `publish`, recording the outcome (never throws). */
  async publish (topic: string, publish: (topic: string, note: Note) => Promise<{ epoch: string, offset: number } | undefined>): Promise<Attempt> {
    const attempt: Attempt = { topic, n: this.attempts.length + 1, ok: false }
    this.attempts.push(attempt)
    try {
      const result = await publish(topic, { topic, n: attempt.n })
      attempt.ok = true
      if (result !== undefined) { attempt.epoch = result.epoch; attempt.offset = result.offset }
    } catch (error) {
      attempt.error = (error as Error).message
    }
    return attempt
  }

  /** The notes of `topics` that were published successfully, in publish order. */
  expected (topics: readonly string[]): Note[] {
    return this.succeeded.filter((attempt) => topics.includes(attempt.topic)).map(({ topic, n }) => ({ topic, n }))
  }
}

/** The notes a reader received, in arrival order. */
export function notesOf (frames: ReadonlyArray<{ event?: string, type?: string, data: string }>): Note[] {
  return frames.filter((frame) => (frame.event ?? frame.type) === 'note').map((frame) => {
    const { topic, n } = JSON.parse(frame.data) as Note
    return { topic, n }
  })
}

/** Control and published events as compact strings, for exact sequence comparisons. */
export function describe (frames: ReadonlyArray<{ event?: string, type?: string, data: string }>): string[] {
  return frames.map((frame) => {
    const type = frame.event ?? frame.type
    if (type === 'note') {
      const { topic, n } = JSON.parse(frame.data) as Note
      return `${topic}#${n}`
    }
    return `${type} ${frame.data}`
  })
}

export function noteKeys (notes: readonly Note[]): string[] {
  return notes.map((note) => `${note.topic}#${note.n}`)
}
