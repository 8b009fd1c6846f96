import { describe, expect, it } from 'vitest';
import { mergeRecent, RecentTail } from '../../src/server/history-tail.js';

const m = (n: number) => ({ id: `id${String(n).padStart(4, '0')}`, from: 'shon', text: `t${n}`, ts: new Date(n * 1000).toISOString() });

describe('RecentTail and mergeRecent', () => {
  it('keeps the last entries while young, and unwritten ones however old', () => {
    let now = 0;
    const tail = new RecentTail(3, 10_000, () => now);
    tail.add(m(1), true);
    tail.add(m(2), false);
    now = 5000;
    tail.add(m(3), true);
    expect(tail.messages()).toEqual([m(1), m(2), m(3)]);
    now = 12_000;
    // m2 is older than 10 s and written: gone; m1 is as old but not written yet: kept.
    expect(tail.messages()).toEqual([m(1), m(3)]);
    tail.written([m(1)]);
    expect(tail.messages()).toEqual([m(3)]);
    now = 13_000;
    for (const n of [4, 5, 6, 7]) tail.add(m(n), false);
    expect(tail.messages()).toEqual([m(5), m(6), m(7)]);
  });

  it('takes a committed batch as everything pending up to its last id (batches come in recording order)', () => {
    let now = 0;
    const tail = new RecentTail(10, 10_000, () => now);
    for (const n of [1, 2, 3, 4]) tail.add(m(n), true);
    tail.written([m(1), m(2), m(3)]);
    now = 20_000;
    // 1-3 are written and old: gone; 4 is not written yet: kept however old.
    expect(tail.messages()).toEqual([m(4)]);
    tail.written([]);
    expect(tail.messages()).toEqual([m(4)]);
    tail.written([m(4)]);
    expect(tail.messages()).toEqual([]);
  });

  it('merges store rows and the tail: each id once, the newest `limit`, oldest first by id', () => {
    expect(mergeRecent([m(1), m(2), m(3)], [m(3), m(5), m(4)], 4)).toEqual([m(2), m(3), m(4), m(5)]);
    expect(mergeRecent([], [], 50)).toEqual([]);
    expect(mergeRecent([m(9)], [], 0)).toEqual([]);
  });

  it('holds nothing when history is off (capacity 0)', () => {
    const tail = new RecentTail(0, 10_000, () => 0);
    tail.add(m(1), true);
    expect(tail.messages()).toEqual([]);
  });
});
