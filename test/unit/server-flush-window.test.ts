import { describe, expect, it } from 'vitest';
import { COST_MULTIPLE, FlushWindow, IDLE_GAPS, MIN_IDLE_MS } from '../../src/server/flush-window.js';

function setup(maxMs = 4): { window: FlushWindow; clock: { t: number }; flush: (costMs: number) => void } {
  const clock = { t: 1000 };
  const window = new FlushWindow(maxMs, () => clock.t);
  const flush = (costMs: number) => {
    const started = clock.t;
    clock.t += costMs;
    window.flushed(started);
  };
  return { window, clock, flush };
}

describe('FlushWindow', () => {
  it('never holds before the first flush: a lone message goes out at the end of the turn', () => {
    const { window } = setup();
    expect(window.holdMs()).toBe(0);
  });

  it('never holds once the server has been quiet for longer than the window', () => {
    const { window, clock, flush } = setup();
    flush(0.3);
    clock.t += COST_MULTIPLE * 0.3 + 0.01;
    expect(window.holdMs()).toBe(0);
  });

  it('holds a batch that starts soon after a flush until the window is over', () => {
    const { window, clock, flush } = setup();
    flush(0.3);
    expect(window.windowMs).toBeCloseTo(COST_MULTIPLE * 0.3);
    expect(window.holdMs()).toBe(Math.round(COST_MULTIPLE * 0.3));
    clock.t += 1;
    expect(window.holdMs()).toBe(Math.round(COST_MULTIPLE * 0.3 - 1));
  });

  it('is bounded by maxMs however costly a flush is', () => {
    const { window, flush } = setup(4);
    flush(5);
    expect(window.windowMs).toBe(4);
    expect(window.holdMs()).toBe(4);
  });

  it('a cheap flush (a small room) makes a window too short for a timer: no hold at all', () => {
    const { window, flush } = setup();
    flush(0.01);
    expect(window.holdMs()).toBe(0);
  });

  it('a bound of 0 switches holding off', () => {
    const { window, flush } = setup(0);
    flush(10);
    expect(window.windowMs).toBe(0);
    expect(window.holdMs()).toBe(0);
  });

  it('follows the running cost of flushes, not one outlier', () => {
    const { window, flush } = setup(100);
    flush(0.2);
    flush(0.2);
    flush(2);
    // One slow flush moves the average a fifth of the way.
    expect(window.windowMs).toBeCloseTo(COST_MULTIPLE * (0.2 + (2 - 0.2) * 0.2));
    for (let i = 0; i < 30; i += 1) flush(0.2);
    expect(window.windowMs).toBeCloseTo(COST_MULTIPLE * 0.2, 2);
  });

  it('a held batch stops waiting once no message came for a few usual gaps (at least a millisecond)', () => {
    const { window, clock } = setup(4);
    expect(window.idleMs).toBe(MIN_IDLE_MS);
    // Messages every 0.5 ms: the usual gap is 0.5 ms, so a batch waits for IDLE_GAPS of them without one.
    for (let i = 0; i < 20; i += 1) {
      window.arrived();
      clock.t += 0.5;
    }
    expect(window.idleMs).toBeCloseTo(IDLE_GAPS * 0.5);
    window.arrived();
    const dueAt = clock.t + 4;
    // Just after a message: ask again when the idle time would be over.
    expect(window.heldFor(dueAt)).toBe(Math.round(IDLE_GAPS * 0.5));
    clock.t += IDLE_GAPS * 0.5;
    expect(window.heldFor(dueAt)).toBe(0);
  });

  it('a batch whose messages keep coming is written when its window ends', () => {
    const { window, clock } = setup(4);
    const dueAt = clock.t + 4;
    for (let i = 0; i < 8; i += 1) {
      window.arrived();
      expect(window.heldFor(dueAt)).toBeGreaterThan(0);
      clock.t += 0.5;
    }
    expect(window.heldFor(dueAt)).toBe(0);
  });

  it('pauses longer than a few bounds (between bursts, quiet spells) do not count as the usual gap', () => {
    const { window, clock } = setup(4);
    for (let i = 0; i < 5; i += 1) {
      window.arrived();
      clock.t += 100;
    }
    expect(window.idleMs).toBe(MIN_IDLE_MS);
  });

  it('the window counts from the end of the last flush, not its start', () => {
    const { window, clock, flush } = setup(4);
    flush(0.3);
    const end = clock.t;
    clock.t = end + COST_MULTIPLE * 0.3 - 2;
    expect(window.holdMs()).toBe(2);
  });
});
