import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Gives V8's young generation back once the server has gone quiet
 * (`--idle-trim`, issue 14).
 *
 * During any burst (a wave of logins, a busy room) V8 grows its new space to
 * its maximum, 16 MiB per semi-space, and both semi-spaces stay resident:
 * about 32 MiB, more than 5000 idle connections cost in all. V8 shrinks the
 * new space again by its own rule, at a scavenge that finds the allocation
 * rate low (under 1000 bytes per ms); but an idle server allocates so little
 * that its next scavenge may be hours away. So when the young generation has
 * allocated at a low rate for `quietMs`, this runs one scavenge, and V8's
 * rule does the rest. Under load the rate is far above the threshold and
 * nothing happens: the young generation keeps its full size exactly when it
 * earns its keep. docs/performance.md has the numbers.
 */

/** One reading of V8's new space (bytes). */
export interface YoungSpaceReading {
  /** Reserved for the new space (`space_size`): what is resident. */
  readonly capacity: number;
  /** Allocated in it since its last scavenge (`space_used_size`). */
  readonly used: number;
}

/** V8's own threshold for a low allocation rate (bytes per ms, `kLowAllocationThroughput`). */
export const LOW_ALLOCATION_BYTES_PER_MS = 1000;
/** A new space at or under this is small already (V8 starts at 1 MiB a semi-space). */
export const SMALL_YOUNG_BYTES = 4 << 20;
/** Scavenges after which V8 kept the space large, before waiting for the next busy spell. */
const MAX_DECLINED = 3;

/**
 * The pure rule: fed a reading every `checkMs`, says when to scavenge. Quiet
 * means the new space grew by less than the low rate over every check since
 * `quietMs` ago (a reading lower than the last one means a scavenge ran, so
 * the space had filled up: busy).
 */
export class IdleTrimPolicy {
  #last: YoungSpaceReading | undefined;
  #quietForMs = 0;
  #declined = 0;

  constructor(
    private readonly quietMs: number,
    private readonly checkMs: number,
  ) {}

  /** True when a scavenge should run now. */
  check(reading: YoungSpaceReading): boolean {
    const last = this.#last;
    this.#last = reading;
    if (last === undefined) return false;
    const busy = reading.used < last.used || reading.used - last.used > LOW_ALLOCATION_BYTES_PER_MS * this.checkMs;
    if (busy) {
      this.#quietForMs = 0;
      this.#declined = 0;
      return false;
    }
    this.#quietForMs += this.checkMs;
    return this.#quietForMs >= this.quietMs && reading.capacity > SMALL_YOUNG_BYTES && this.#declined < MAX_DECLINED;
  }

  /** The scavenge ran; `after` is the reading right after it (its drop in `used` is ours, not a sign of load). */
  trimmed(before: YoungSpaceReading, after: YoungSpaceReading): void {
    this.#last = after;
    this.#quietForMs = 0;
    this.#declined = after.capacity < before.capacity ? 0 : this.#declined + 1;
  }
}

function readYoungSpace(): YoungSpaceReading {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return { capacity: space?.space_size ?? 0, used: space?.space_used_size ?? 0 };
}

type GcFunction = (options?: { type?: 'minor' | 'major' }) => void;

/**
 * V8's `gc`, from a context made with `--expose-gc` set for that moment only
 * (the flag is read when a context is created; Node documents
 * v8.setFlagsFromString for switching V8 flags at run time). The process's
 * own global gets no `gc`. Costs one small context (about 0.3 MB), made the
 * first time a trim is due. Undefined where V8 does not allow it (a node
 * whose flags are frozen after start): the trim then stops, nothing else.
 */
function scavenger(): (() => void) | undefined {
  let gc = (globalThis as { gc?: GcFunction }).gc;
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const found: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
      if (typeof found === 'function') gc = found as GcFunction;
    } catch {
      // No gc to be had: see above.
    } finally {
      try {
        setFlagsFromString('--no-expose-gc');
      } catch {
        // As above.
      }
    }
  }
  const run = gc;
  return run === undefined ? undefined : () => run({ type: 'minor' });
}

/** Checks once a second; returns a stop function. `quietMs` 0: never trims. */
export function startIdleTrim(quietMs: number, checkMs = 1000): () => void {
  if (quietMs <= 0) return () => undefined;
  const policy = new IdleTrimPolicy(quietMs, checkMs);
  let scavenge: (() => void) | undefined;
  const timer = setInterval(() => {
    const before = readYoungSpace();
    if (!policy.check(before)) return;
    scavenge ??= scavenger();
    if (scavenge === undefined) {
      clearInterval(timer);
      return;
    }
    scavenge();
    policy.trimmed(before, readYoungSpace());
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
