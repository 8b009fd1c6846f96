/**
 * How instances tell which of them are dead (docs/cluster.md, "When an
 * instance dies"). Pure: the caller reads the instances table and a
 * monotonic clock.
 */

/** How often each instance writes its heartbeat, and how often it reads everyone's. */
export const INSTANCE_HEARTBEAT_MS = 500;
/**
 * An instance whose heartbeat has not changed for this long, watched without
 * a break, is dead: 6 heartbeats missed in a row. With the reads every 500 ms
 * a dead one is found within 3.5 s of its last heartbeat, so its users log in
 * elsewhere within the 5 s promised; an instance that stalls for less (a GC
 * pause, a slow disk) keeps its sessions.
 */
export const INSTANCE_STALE_MS = 3000;
/**
 * A watcher that did not read the table, or could not write its own
 * heartbeat, for this long (its own pause, the database away for everyone)
 * has not watched: it starts its watch afresh rather than take everyone for
 * dead when it comes back.
 */
export const WATCH_GAP_MS = 1500;

export interface InstanceBeat {
  readonly id: string;
  readonly heartbeat_at: string;
}

/**
 * Watches the other instances' heartbeats change. Only time measured here
 * counts, never the written timestamps: clocks of different hosts need not
 * agree, and after a database outage every timestamp is old.
 */
export class LivenessWatch {
  readonly #seen = new Map<string, { heartbeat: string; changedAt: number }>();
  #lastObserved: number | undefined;

  constructor(
    private readonly staleMs = INSTANCE_STALE_MS,
    private readonly gapMs = WATCH_GAP_MS,
  ) {}

  /**
   * Takes one read of the other instances (`now` on a monotonic clock, in ms;
   * `ownBeatAt`: when this instance's own heartbeat last succeeded). Returns
   * the ids whose heartbeat has stood still for the stale time.
   */
  observe(others: readonly InstanceBeat[], now: number, ownBeatAt: number | undefined): string[] {
    const afresh = this.#lastObserved === undefined || now - this.#lastObserved > this.gapMs || ownBeatAt === undefined || now - ownBeatAt > this.gapMs;
    this.#lastObserved = now;
    const present = new Set<string>();
    const dead: string[] = [];
    for (const other of others) {
      present.add(other.id);
      const seen = this.#seen.get(other.id);
      if (afresh || seen === undefined || seen.heartbeat !== other.heartbeat_at) {
        this.#seen.set(other.id, { heartbeat: other.heartbeat_at, changedAt: now });
      } else if (now - seen.changedAt >= this.staleMs) {
        dead.push(other.id);
      }
    }
    for (const id of this.#seen.keys()) if (!present.has(id)) this.#seen.delete(id);
    return dead;
  }

  /** Forgets what was seen: the next read starts afresh. */
  reset(): void {
    this.#seen.clear();
    this.#lastObserved = undefined;
  }
}

/** Would `other` split the room with an instance on `busPrefix` (null: no bus)? Yes when one has no bus, or they use different prefixes. */
export function splitsRoom(busPrefix: string | null, other: { bus_prefix: string | null }): boolean {
  return busPrefix === null || other.bus_prefix !== busPrefix;
}
