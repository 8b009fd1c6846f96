import { describe, expect, it } from 'vitest';
import { MessageIdGenerator } from '../../src/protocol/message-id.js';

const INSTANCE = '3f2a9c1b-4d5e-4f60-8a7b-1c2d3e4f5a6b';

function clockAt(start: number): { now: () => number; set(ms: number): void } {
  let ms = start;
  return { now: () => ms, set: (next) => (ms = next) };
}

function isAscending(ids: string[]): boolean {
  return ids.every((id, i) => i === 0 || ids[i - 1]! < id);
}

describe('MessageIdGenerator', () => {
  it('writes the time, a sequence and the instance tag in fixed width', () => {
    const clock = clockAt(Date.UTC(2026, 11, 1, 10, 0, 0));
    const ids = new MessageIdGenerator(INSTANCE, clock.now);
    const id = ids.next();
    expect(id).toMatch(/^[0-9a-z]{12}-3f2a9c1b4d5e4f60$/);
    expect(parseInt(id.slice(0, 9), 36)).toBe(Date.UTC(2026, 11, 1, 10, 0, 0));
    expect(id.slice(9, 12)).toBe('000');
  });

  it('orders ids by time as strings, also where the time gains a digit in base 36', () => {
    // 36^8 ms (about 1978) is where an unpadded base-36 time would get longer.
    const clock = clockAt(36 ** 8 - 1);
    const ids = new MessageIdGenerator(INSTANCE, clock.now);
    const seen = [ids.next()];
    for (const ms of [36 ** 8, 36 ** 8 + 9, 36 ** 8 + 10, 36 ** 8 + 35, 36 ** 8 + 36, Date.UTC(2026, 0, 1), Date.UTC(2100, 0, 1)]) {
      clock.set(ms);
      seen.push(ids.next());
    }
    expect(isAscending(seen)).toBe(true);
    expect(new Set(seen.map((id) => id.length)).size).toBe(1);
  });

  it('counts on within one millisecond, in order', () => {
    const ids = new MessageIdGenerator(INSTANCE, () => 1_700_000_000_000);
    const seen = Array.from({ length: 1000 }, () => ids.next());
    expect(new Set(seen).size).toBe(1000);
    expect(isAscending(seen)).toBe(true);
  });

  it('takes the next millisecond when a millisecond has used up its sequence', () => {
    const t = 1_700_000_000_000;
    const ids = new MessageIdGenerator(INSTANCE, () => t);
    const seen = Array.from({ length: 36 ** 3 + 2 }, () => ids.next());
    expect(isAscending(seen)).toBe(true);
    expect(parseInt(seen.at(-3)!.slice(0, 9), 36)).toBe(t);
    expect(parseInt(seen.at(-2)!.slice(0, 9), 36)).toBe(t + 1);
    expect(seen.at(-2)!.slice(9, 12)).toBe('000');
  });

  it('stays monotonic when the wall clock steps back, and follows it again once it passes the last id', () => {
    const clock = clockAt(1_700_000_010_000);
    const ids = new MessageIdGenerator(INSTANCE, clock.now);
    const seen = [ids.next()];
    clock.set(1_700_000_000_000); // ten seconds back
    seen.push(ids.next(), ids.next());
    clock.set(1_700_000_020_000);
    seen.push(ids.next());
    expect(isAscending(seen)).toBe(true);
    expect(parseInt(seen[1]!.slice(0, 9), 36)).toBe(1_700_000_010_000);
    expect(parseInt(seen[3]!.slice(0, 9), 36)).toBe(1_700_000_020_000);
  });

  it('keeps instances apart at the same time and sequence, and orders them by time first', () => {
    const clock = clockAt(1_700_000_000_000);
    const a = new MessageIdGenerator('aaaaaaaa-0000-4000-8000-000000000000', clock.now);
    const b = new MessageIdGenerator('bbbbbbbb-0000-4000-8000-000000000000', clock.now);
    const first = [a.next(), b.next()];
    expect(first[0]).not.toBe(first[1]);
    clock.set(1_700_000_000_001);
    expect(a.next() > first[1]!).toBe(true);
  });

  it('refuses an instance id with nothing to make a tag of', () => {
    expect(() => new MessageIdGenerator('---')).toThrow(RangeError);
  });
});
