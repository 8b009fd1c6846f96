import { describe, expect, it } from 'vitest';
import { FloodGuard } from '../../src/server/token-bucket.js';

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

  it('refills in fractions and never above the burst', () => {
    const guard = new FloodGuard(2, 2, 0);
    guard.check(0);
    guard.check(0);
    expect(guard.check(249)).toBe('refuse');
    expect(guard.check(500)).toBe('allow');
    const later = Array.from({ length: 3 }, () => guard.check(3_600_000));
    expect(later).toEqual(['allow', 'allow', 'refuse']);
  });

  it('a clock that goes back gives no tokens', () => {
    const guard = new FloodGuard(1, 1, 10_000);
    expect(guard.check(10_000)).toBe('allow');
    expect(guard.check(5_000)).toBe('refuse');
  });

  it('a rate of 0 never refuses', () => {
    const guard = new FloodGuard(1, 0, 0);
    expect(Array.from({ length: 100 }, () => guard.check(0)).every((v) => v === 'allow')).toBe(true);
  });
});
