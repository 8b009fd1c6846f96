/**
 * How long a room's broadcast batch waits before it is written: the adaptive
 * flush window. Pure: the clock is injected, nothing here touches a timer.
 *
 * A flush costs about one write per member, whatever the batch holds, so when
 * messages trickle in one per event-loop turn, holding the batch a little lets
 * several share each member's write. The rule:
 *
 * - The window is COST_MULTIPLE times what a flush of this stream costs (a
 *   running average of measured flushes), at most `maxMs`. While messages keep
 *   coming, flushing then takes at most 1 / (COST_MULTIPLE + 1) of the time.
 * - A batch that starts within the window after the last flush ended waits
 *   until the window is over; one that starts later (the server was quiet)
 *   is written at the end of this turn, at once.
 *
 * So a quiet server, or a small room whose flush costs microseconds, never
 * waits; a busy room with many members waits up to `maxMs`.
 * docs/performance.md has the numbers behind COST_MULTIPLE and the default bound.
 */
export class FlushWindow {
  /** When the last flush ended, on the injected clock (ms). */
  #lastEnd = Number.NEGATIVE_INFINITY;
  /** Running average of what a flush took (ms). */
  #costMs = 0;

  constructor(
    /** The longest hold (0: never hold, write at the end of every turn). */
    private readonly maxMs: number,
    /** Milliseconds, monotonic, fractional (performance.now in production). */
    private readonly clock: () => number,
  ) {}

  /** The current window (ms). */
  get windowMs(): number {
    return Math.min(this.maxMs, COST_MULTIPLE * this.#costMs);
  }

  /**
   * A batch has just become non-empty: how long to hold it (ms, whole, as
   * timers count them); 0 means write it at the end of this turn.
   */
  holdMs(): number {
    const wait = this.#lastEnd + this.windowMs - this.clock();
    // Timers have millisecond resolution: under half of one is not worth a timer.
    return wait < 0.5 ? 0 : Math.round(wait);
  }

  /** A flush that began at `startedAt` (on the same clock) has just ended. */
  flushed(startedAt: number): void {
    const end = this.clock();
    const cost = Math.max(0, end - startedAt);
    this.#costMs = this.#costMs === 0 ? cost : this.#costMs + (cost - this.#costMs) * SMOOTHING;
    this.#lastEnd = end;
  }
}

/** The window is this many flush costs: flushing takes at most a tenth or so of a busy loop. */
export const COST_MULTIPLE = 10;
/** Weight of the newest flush in the running cost average. */
const SMOOTHING = 0.2;
