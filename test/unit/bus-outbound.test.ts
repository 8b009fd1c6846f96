import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Outbound } from '../../src/bus/outbound.js';
import { captureLog } from '../helpers/bus-traffic.js';

describe('Outbound', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('numbers what it takes 1, 2, 3 in order and keeps it until confirmed', () => {
    const out = new Outbound(1000, captureLog());
    for (const body of ['a', 'b', 'c']) expect(out.push(undefined, body)).toBe(true);
    expect(out.peek(10, 1000).map((e) => [e.seq, e.body])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    out.confirmThrough(2);
    expect(out.peek(10, 1000).map((e) => e.seq)).toEqual([3]);
    expect(out.size).toBe(1);
    expect(out.published).toBe(3);
  });

  it('peeks at most the count and about the bytes asked, and always one', () => {
    const out = new Outbound(100_000, captureLog());
    for (let i = 0; i < 10; i++) out.push(undefined, 'x'.repeat(100));
    expect(out.peek(3, 100_000)).toHaveLength(3);
    expect(out.peek(10, 250)).toHaveLength(2);
    expect(out.peek(10, 1)).toHaveLength(1);
  });

  it('refuses past its bound in bytes, without giving the refused one a number', () => {
    const out = new Outbound(10, captureLog());
    expect(out.push(undefined, '12345')).toBe(true);
    expect(out.push('b', '1234')).toBe(true); // the address counts too: 5 + 1 + 4
    expect(out.push(undefined, 'x')).toBe(false);
    expect(out.bytes).toBe(10);
    out.confirmThrough(1);
    expect(out.push(undefined, 'y')).toBe(true);
    expect(out.peek(10, 100).map((e) => e.seq)).toEqual([2, 3]);
    expect(out.dropped).toBe(1);
  });

  it('counts bytes as UTF-8', () => {
    const out = new Outbound(4, captureLog());
    expect(out.push(undefined, 'é')).toBe(true); // 2 bytes
    expect(out.push(undefined, 'éé')).toBe(false);
    expect(out.bytes).toBe(2);
  });

  it('logs drops once a second with how many, not once per drop', () => {
    const log = captureLog();
    const out = new Outbound(1, log);
    for (let i = 0; i < 500; i++) out.push(undefined, 'too big');
    expect(log.lines).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(log.lines).toEqual([{ event: 'bus_dropped', fields: { count: 500, total: 500, buffered_bytes: 0, max_bytes: 1 } }]);
    out.push(undefined, 'too big');
    out.flushReport();
    expect(log.lines[1]!.fields).toMatchObject({ count: 1, total: 501 });
    vi.advanceTimersByTime(5000);
    expect(log.lines).toHaveLength(2);
  });

  it('gives memory back as entries are confirmed', () => {
    const out = new Outbound(10_000_000, captureLog());
    for (let i = 1; i <= 5000; i++) {
      out.push(undefined, 'm');
      out.confirmThrough(i - 1);
    }
    expect(out.size).toBe(1);
    expect(out.bytes).toBe(1);
    expect(out.peek(10, 10).map((e) => e.seq)).toEqual([5000]);
  });
});
