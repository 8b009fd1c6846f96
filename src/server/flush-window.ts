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
 * - A held batch is written before the window ends once the messages stop
 *   coming: when none arrived for IDLE_GAPS times the usual gap between
 *   arrivals (at least 1 ms). A burst (many people answering at once) goes
 *   out a millisecond or two after its last message instead of at the end
 *   of the window; messages that keep trickling in keep their batch open
 *   until the window ends.
 *
 * So a quiet server, or a small room whose flush costs microseconds, never
 * waits; a busy room with many members waits up to `maxMs`, and no longer
 * than its messages keep coming.
 * docs/performance.md has the numbers behind COST_MULTIPLE and the default bound.
 */
export class FlushWindow {
  /** When the last flush ended, on the injected clock (ms). */
  #lastEnd = Number.NEGATIVE_INFINITY;
  /** Running average of what a flush took (ms). */
  #costMs = 0;
  /** When the last message arrived, and the running average of the gaps between arrivals that a window could bridge (ms). */
  #lastArrival = Number.NEGATIVE_INFINITY;
  #gapMs = 0;

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

  /** A message has been added to the stream's batch (held or not). */
  arrived(): void {
    const now = this.clock();
    const gap = now - this.#lastArrival;
    this.#lastArrival = now;
    // A longer gap is a pause between bursts or a quiet spell: no window bridges it.
    if (gap > GAP_SPAN * this.maxMs) return;
    this.#gapMs = this.#gapMs === 0 ? gap : this.#gapMs + (gap - this.#gapMs) * SMOOTHING;
  }

  /**
   * How long after the last arrival a held batch stops waiting: the messages
   * have stopped coming (a burst is over), so holding on until the window
   * ends would add latency and save no write. IDLE_GAPS times the usual gap
   * between arrivals, at least a timer's millisecond.
   */
  get idleMs(): number {
    return Math.max(MIN_IDLE_MS, IDLE_GAPS * this.#gapMs);
  }

  /**
   * For a batch held until `dueAt` (this clock): 0 when it should be written
   * now (the window is over, or no message came for `idleMs`), or else how
   * many whole milliseconds to wait before asking again.
   */
  heldFor(dueAt: number): number {
    const now = this.clock();
    const next = Math.min(dueAt, this.#lastArrival + this.idleMs);
    const wait = next - now;
    return wait < 0.5 ? 0 : Math.max(1, Math.round(wait));
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
/** Weight of the newest flush (or gap) in its running average. */
const SMOOTHING = 0.2;
/** Gaps between arrivals longer than this many bounds are pauses, not counted in the usual gap. */
const GAP_SPAN = 4;
/** A held batch is written once no message came for this many usual gaps... */
export const IDLE_GAPS = 3;
/** ...and at least this long (ms): timers do not honour less. */
export const MIN_IDLE_MS = 1;
