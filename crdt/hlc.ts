/**
 * Hybrid logical clock (Kulkarni et al.): a wall-clock millisecond plus a counter, so that a
 * message is always stamped after every message its author had seen, even when machine
 * clocks disagree, while staying close to real time for display.
 */
export interface Timestamp {
  /** wall-clock milliseconds since the epoch */
  readonly ms: number
  /** logical counter for events within the same millisecond */
  readonly c: number
}

/** How far ahead of our clock a remote timestamp may be before we refuse to follow it. */
export const MAX_CLOCK_DRIFT_MS = 24 * 60 * 60 * 1000

export function compareTimestamps (a: Timestamp, b: Timestamp): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.c - b.c
}

export function isTimestamp (value: unknown): value is Timestamp {
  if (value == null || typeof value !== 'object') return false
  const t = value as Record<string, unknown>
  return Number.isSafeInteger(t.ms) && (t.ms as number) >= 0 &&
    Number.isSafeInteger(t.c) && (t.c as number) >= 0
}

export class HybridClock {
  private last: Timestamp = { ms: 0, c: 0 }

  constructor (private readonly now: () => number = Date.now) {}

  /** A timestamp for a local event, later than every timestamp seen so far. */
  tick (): Timestamp {
    const wall = this.now()
    this.last = wall > this.last.ms ? { ms: wall, c: 0 } : { ms: this.last.ms, c: this.last.c + 1 }
    return this.last
  }

  /**
   * Take a timestamp seen on a received event into account. Timestamps from a peer whose
   * clock runs absurdly far ahead are ignored, so one bad clock cannot drag the team's
   * clocks into the future.
   */
  observe (remote: Timestamp): void {
    const wall = this.now()
    if (remote.ms - wall > MAX_CLOCK_DRIFT_MS) return
    if (compareTimestamps(remote, this.last) > 0) this.last = { ms: remote.ms, c: remote.c }
  }
}
