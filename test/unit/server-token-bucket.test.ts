import { describe, expect, it } from 'vitest';
import { FloodGuard, TokenBucket } from '../../src/server/token-bucket.js';

describe('TokenBucket', () => {
  it('gives `capacity` tokens at once, then none', () => {
    const bucket = new TokenBucket(3, 1, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
  });

  it('refills at perSecond, fractions accumulating', () => {
    const bucket = new TokenBucket(2, 2, 0);
    bucket.take(0);
    bucket.take(0);
    expect(bucket.take(249)).toBe(false);
    expect(bucket.take(500)).toBe(true);
    expect(bucket.take(500)).toBe(false);
    expect(bucket.take(750)).toBe(false);
    expect(bucket.take(1000)).toBe(true);
  });

  it('never holds more than its capacity', () => {
    const bucket = new TokenBucket(3, 10, 0);
    const results = Array.from({ length: 5 }, () => bucket.take(3_600_000));
    expect(results).toEqual([true, true, true, false, false]);
  });

  it('a rate of 0 is unlimited', () => {
    const bucket = new TokenBucket(1, 0, 0);
    expect(Array.from({ length: 1000 }, () => bucket.take(0)).every(Boolean)).toBe(true);
  });

  it('a clock that goes back gives no tokens', () => {
    const bucket = new TokenBucket(1, 1, 10_000);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(5_000)).toBe(false);
  });
});

describe('FloodGuard', () => {
  it('allows the burst, refuses twice the burst, then disconnects', () => {
    const guard = new FloodGuard(2, 1, 0);
    const verdicts = Array.from({ length: 7 }, () => guard.check(0));
    expect(verdicts).toEqual(['allow', 'allow', 'refuse', 'refuse', 'refuse', 'refuse', 'disconnect']);
  });

  it('a sender who slows down is allowed again', () => {
    const guard = new FloodGuard(2, 1, 0);
    guard.check(0);
    guard.check(0);
    expect(guard.check(0)).toBe('refuse');
    expect(guard.check(1000)).toBe('allow');
    expect(guard.check(1000)).toBe('refuse');
  });

  it('sending at exactly the rate is never refused', () => {
    const guard = new FloodGuard(1, 5, 0);
    for (let t = 0; t < 60_000; t += 200) expect(guard.check(t)).toBe('allow');
  });

  it('sustained flooding at several times the rate ends in disconnect', () => {
    const guard = new FloodGuard(2, 1, 0);
    const verdicts: string[] = [];
    for (let t = 0; t < 20_000 && verdicts.at(-1) !== 'disconnect'; t += 250) verdicts.push(guard.check(t));
    expect(verdicts.at(-1)).toBe('disconnect');
    expect(verdicts.slice(0, 2)).toEqual(['allow', 'allow']);
  });

  it('a rate of 0 never refuses', () => {
    const guard = new FloodGuard(1, 0, 0);
    expect(Array.from({ length: 100 }, () => guard.check(0)).every((v) => v === 'allow')).toBe(true);
  });
});
