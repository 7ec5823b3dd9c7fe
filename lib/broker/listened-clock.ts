/**
 * How long a connection has said nothing, counted in time this process was listening.
 *
 * Wall time is the wrong measure of a silent Redis when the process itself is busy: 40,000 publish()
 * calls made in one synchronous burst held the event loop for seconds, and each publish's timer then fired
 * before the socket holding its reply was read - so a healthy Redis was taken for a wedged one, every
 * publish was reported `published: 'unknown'`, and renewing the connection failed the rest. This clock
 * advances once per tick, only after the tick has let the event loop read its sockets (a timer, then
 * setImmediate, which runs after the poll phase), and by at most two ticks however long the process was
 * away: a blocked event loop costs at most two ticks of listening, never a whole window.
 *
 * Times are listened milliseconds. `mark(node)` is the time of a connection's last answer; a command is
 * silent for `now() - max(sent, mark(node))`. The clock runs while anything watches it.
 */

/** Called once a tick with the listened time; returns true when it is done watching. */
export type ClockWatcher = (now: number) => boolean

export class ListenedClock {
  private listened = 0
  private lastTick = 0
  private running = false
  private readonly marks = new Map<number, number>()
  private readonly watchers = new Set<ClockWatcher>()

  constructor (private readonly tickMs: number) {}

  /** Listened time now: the last tick's, plus the wall time since (at most two ticks' worth). */
  now (): number {
    if (!this.running) return this.listened
    return this.listened + Math.min(Date.now() - this.lastTick, 2 * this.tickMs)
  }

  /** The listened time of the last answer of `node` (0: none yet). Node 0 is "any connection". */
  mark (node: number): number {
    return this.marks.get(node) ?? 0
  }

  /** An answer came from `node`. */
  heard (node: number): void {
    const now = this.now()
    this.marks.set(node, now)
    if (node !== 0) this.marks.set(0, now)
  }

  /** Calls `watcher` every tick until it returns true, or until the returned function is called. */
  watch (watcher: ClockWatcher): () => void {
    this.watchers.add(watcher)
    if (!this.running) {
      this.running = true
      this.lastTick = Date.now()
      this.schedule()
    }
    return () => { this.watchers.delete(watcher) }
  }

  private schedule (): void {
    setTimeout(() => { setImmediate(this.tick) }, this.tickMs)
  }

  private readonly tick = (): void => {
    this.listened = this.now()
    this.lastTick = Date.now()
    for (const watcher of [...this.watchers]) if (watcher(this.listened)) this.watchers.delete(watcher)
    if (this.watchers.size > 0) this.schedule()
    else this.running = false
  }
}
