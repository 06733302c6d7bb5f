/** Time, as the core sees it. Every time-based rule reads this port so that tests can control time. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to, for tests of time-based semantics. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`assertion failed: a clock only moves forward (asked ${ms} ms)`);
    this.#now += ms;
  }

  set(epochMs: number): void {
    if (epochMs < this.#now) throw new Error('assertion failed: a clock only moves forward');
    this.#now = epochMs;
  }
}
