import { describe, expect, it } from 'vitest';
import { INSTANCE_STALE_MS, LivenessWatch, splitsRoom, WATCH_GAP_MS } from '../../src/server/instance-liveness.js';

const beat = (id: string, n: number) => ({ id, heartbeat_at: `2026-12-01T10:00:${String(n).padStart(2, '0')}.000Z` });

/** Reads every 500 ms from `from` to `to` (ms); `rows(t)` is the table at t; the watcher's own heartbeat succeeds at each read. */
function run(watch: LivenessWatch, from: number, to: number, rows: (t: number) => ReturnType<typeof beat>[]): Map<number, string[]> {
  const found = new Map<number, string[]>();
  for (let t = from; t <= to; t += 500) {
    const dead = watch.observe(rows(t), t, t);
    if (dead.length > 0) found.set(t, dead);
  }
  return found;
}

describe('LivenessWatch', () => {
  it('an instance whose heartbeat stands still for the stale time is dead; one that moves is not', () => {
    const watch = new LivenessWatch();
    // b beats until t=2000, then dies; c beats on.
    const found = run(watch, 0, 8000, (t) => [beat('b', Math.min(t, 2000) / 500), beat('c', t / 500)]);
    const first = [...found.keys()][0]!;
    expect(found.get(first)).toEqual(['b']);
    // Its last change was seen at 2000: dead once the stale time has passed since.
    expect(first).toBe(2000 + INSTANCE_STALE_MS);
    expect([...found.values()].flat()).not.toContain('c');
  });

  it("an instance first seen is given the whole stale time, whatever its timestamp says (another host's clock)", () => {
    const watch = new LivenessWatch();
    const found = run(watch, 0, INSTANCE_STALE_MS - 500, () => [beat('b', 0)]);
    expect(found.size).toBe(0);
    expect(watch.observe([beat('b', 0)], INSTANCE_STALE_MS, INSTANCE_STALE_MS)).toEqual(['b']);
  });

  it('a watcher that paused, or whose own heartbeat failed (the database away for everyone), starts its watch afresh', () => {
    const watch = new LivenessWatch();
    run(watch, 0, 2000, (t) => [beat('b', t / 500)]);
    // This watcher froze for 10 s; b's heartbeat has not moved in its eyes.
    expect(watch.observe([beat('b', 4)], 12_000, 12_000)).toEqual([]);
    expect(watch.observe([beat('b', 4)], 12_000 + INSTANCE_STALE_MS - 500, 12_000 + INSTANCE_STALE_MS - 500)).toEqual([]);
    // The database came back after an outage in which nobody could write: this watcher's own beat is old too.
    const fresh = new LivenessWatch();
    run(fresh, 0, 1000, (t) => [beat('b', t / 500)]);
    for (let t = 1500; t <= 1000 + INSTANCE_STALE_MS + 2000; t += 500) {
      expect(fresh.observe([beat('b', 2)], t, 1000)).toEqual([]);
    }
    expect(WATCH_GAP_MS).toBeLessThan(INSTANCE_STALE_MS);
  });

  it('forgets rows that left the table', () => {
    const watch = new LivenessWatch();
    run(watch, 0, 1000, () => [beat('b', 0)]);
    expect(watch.observe([], 1500, 1500)).toEqual([]);
    // Back with the same heartbeat: seen afresh.
    expect(watch.observe([beat('b', 0)], 2000, 2000)).toEqual([]);
    expect(watch.observe([beat('b', 0)], 2000 + INSTANCE_STALE_MS, 2000 + INSTANCE_STALE_MS)).toEqual([]);
  });
});

describe('splitsRoom', () => {
  it('no bus on either side, or other prefixes, split the room; the same prefix does not', () => {
    expect(splitsRoom(null, { bus_prefix: null })).toBe(true);
    expect(splitsRoom(null, { bus_prefix: 'chat:' })).toBe(true);
    expect(splitsRoom('chat:', { bus_prefix: null })).toBe(true);
    expect(splitsRoom('chat:', { bus_prefix: 'other:' })).toBe(true);
    expect(splitsRoom('chat:', { bus_prefix: 'chat:' })).toBe(false);
  });
});
