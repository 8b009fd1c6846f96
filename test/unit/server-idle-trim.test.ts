import { describe, expect, it } from 'vitest';
import { IdleTrimPolicy, LOW_ALLOCATION_BYTES_PER_MS, SMALL_YOUNG_BYTES, startIdleTrim } from '../../src/server/idle-trim.js';

const MiB = 1 << 20;
const BIG = 32 * MiB;
/** Allocation per 1 s check just under / over V8's low rate. */
const SLOW = LOW_ALLOCATION_BYTES_PER_MS * 1000 - 1;
const FAST = LOW_ALLOCATION_BYTES_PER_MS * 1000 + 1;

/** Feeds readings 1 s apart, `used` growing by `step` each time; returns at which checks it asked to trim. */
function feed(policy: IdleTrimPolicy, checks: number, step: number, capacity = BIG, start = 0): { asked: number[]; used: number } {
  const asked: number[] = [];
  let used = start;
  for (let i = 0; i < checks; i += 1) {
    if (policy.check({ capacity, used })) asked.push(i);
    used += step;
  }
  return { asked, used };
}

/** `times` quiet checks in a row, each asking for a trim that V8 then declines (the space keeps `capacity`). */
function declineTrims(policy: IdleTrimPolicy, times: number, capacity = BIG): void {
  for (let i = 0; i < times; i += 1) {
    expect(policy.check({ capacity, used: 0 })).toBe(true);
    policy.trimmed({ capacity, used: 0 }, { capacity, used: 0 });
  }
}

describe('IdleTrimPolicy: when to let V8 shrink the young generation', () => {
  it('asks once the new space has grown slowly for the quiet time, not before', () => {
    const policy = new IdleTrimPolicy(5000, 1000);
    // The first reading only sets the baseline; five quiet seconds follow it.
    expect(feed(policy, 7, SLOW).asked).toEqual([5, 6]);
  });

  it('never asks while allocation is above the low rate (a busy server keeps its young generation)', () => {
    const policy = new IdleTrimPolicy(5000, 1000);
    expect(feed(policy, 60, FAST).asked).toEqual([]);
  });

  it('a scavenge of its own (used drops) counts as busy and starts the quiet time over', () => {
    const policy = new IdleTrimPolicy(3000, 1000);
    const first = feed(policy, 3, 0, BIG, 10 * MiB);
    expect(first.asked).toEqual([]);
    // V8 scavenged: used fell from 10 MiB to 1 MiB.
    expect(policy.check({ capacity: BIG, used: MiB })).toBe(false);
    expect(feed(policy, 3, 0, BIG, MiB).asked).toEqual([2]);
  });

  it('does not ask when the new space is small already', () => {
    const policy = new IdleTrimPolicy(2000, 1000);
    expect(feed(policy, 10, 0, SMALL_YOUNG_BYTES).asked).toEqual([]);
  });

  it('after a trim the quiet time starts over, and the trim’s own drop in used is not taken for load', () => {
    const policy = new IdleTrimPolicy(2000, 1000);
    expect(feed(policy, 3, 0, BIG, MiB).asked).toEqual([2]);
    policy.trimmed({ capacity: BIG, used: MiB }, { capacity: BIG, used: 0 });
    expect(policy.check({ capacity: BIG, used: 0 })).toBe(false);
    expect(policy.check({ capacity: BIG, used: 0 })).toBe(true);
  });

  it('gives up after three trims V8 declined, until the next busy spell', () => {
    const policy = new IdleTrimPolicy(1000, 1000);
    policy.check({ capacity: BIG, used: 0 });
    declineTrims(policy, 3);
    expect(feed(policy, 10, 0).asked).toEqual([]);
    // Busy, then quiet again: it tries again.
    expect(policy.check({ capacity: BIG, used: 50 * MiB })).toBe(false);
    expect(policy.check({ capacity: BIG, used: 50 * MiB })).toBe(true);
  });

  it('a trim that shrank the space resets the count of declined ones', () => {
    const policy = new IdleTrimPolicy(1000, 1000);
    policy.check({ capacity: BIG, used: 0 });
    declineTrims(policy, 2);
    expect(policy.check({ capacity: BIG, used: 0 })).toBe(true);
    policy.trimmed({ capacity: BIG, used: 0 }, { capacity: 16 * MiB, used: 0 });
    // Still above small: it may try again, three more times.
    declineTrims(policy, 3, 16 * MiB);
    expect(policy.check({ capacity: 16 * MiB, used: 0 })).toBe(false);
  });
});

describe('startIdleTrim', () => {
  it('0 switches it off: no timer, a stop that does nothing', () => {
    const stop = startIdleTrim(0);
    expect(() => stop()).not.toThrow();
  });

  it('in this process, a grown young generation is given back after the quiet time', async () => {
    const newSpace = async () => (await import('node:v8')).getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
    // Grow the new space: survivors of many scavenges make V8 expand it.
    let keep: object[] = [];
    for (let i = 0; i < 3_000_000; i += 1) {
      keep.push({ i, s: String(i) });
      if (keep.length > 300_000) keep = [];
    }
    keep = [];
    const grown = await newSpace();
    if (grown <= SMALL_YOUNG_BYTES) return; // V8 did not grow it here: nothing to show.
    // V8 judges the allocation rate over its last 5 s: a shorter quiet time would be declined.
    const stop = startIdleTrim(6000, 500);
    try {
      const deadline = Date.now() + 40_000;
      while ((await newSpace()) > SMALL_YOUNG_BYTES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await newSpace()).toBeLessThanOrEqual(SMALL_YOUNG_BYTES);
    } finally {
      stop();
    }
  }, 60_000);
});
