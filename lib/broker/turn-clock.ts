/**
 * A counter of turns of the event loop, one per broker: it moves on at the check phase after events
 * arrived, so a relay (topic-events.ts) can tell the events of this turn from those that waited. One
 * setImmediate per turn with events for all the relays of a broker, not one per relay or per event.
 * The broker owns it (`broker.turns`), so the relays of one broker share it without a side table.
 */
export class TurnClock {
  private turn = 0
  private armed = false

  current (): number {
    if (!this.armed) {
      this.armed = true
      setImmediate(this.advance)
    }
    return this.turn
  }

  private readonly advance = (): void => {
    this.turn++
    this.armed = false
  }
}
