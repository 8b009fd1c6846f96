import { describe, expect, it, vi } from 'vitest';
import { FlushScheduler, Outbox } from '../../src/server/outbox.js';
import { FakeSink, nextTurn } from '../helpers/fake-sink.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function setup(limit = 1024): { sink: FakeSink; outbox: Outbox; onOverflow: ReturnType<typeof vi.fn>; clock: { t: number }; scheduler: FlushScheduler } {
  const sink = new FakeSink();
  const scheduler = new FlushScheduler();
  const onOverflow = vi.fn();
  const clock = { t: 0 };
  const outbox = new Outbox(sink, scheduler, limit, { outboxOverflowed: onOverflow }, () => clock.t);
  return { sink, outbox, onOverflow, clock, scheduler };
}

describe('Outbox: coalescing', () => {
  it('frames pushed in one turn become one write, in order', async () => {
    const { sink, outbox } = setup();
    outbox.push(b('a\n'));
    outbox.push(b('bb\n'));
    outbox.push(b('שלום\n'));
    expect(sink.writes).toEqual([]);
    expect(outbox.pendingBytes).toBe(2 + 3 + 9);
    await nextTurn();
    expect(sink.writes.map((w) => w.toString('utf8'))).toEqual(['a\nbb\nשלום\n']);
    expect(outbox.pendingBytes).toBe(0);
  });

  it('a later turn gives a second write', async () => {
    const { sink, outbox } = setup();
    outbox.push(b('one\n'));
    await nextTurn();
    outbox.push(b('two\n'));
    outbox.push(b('three\n'));
    await nextTurn();
    expect(sink.writes.map(String)).toEqual(['one\n', 'two\nthree\n']);
  });

  it('one scheduler flushes each of several outboxes once per turn', async () => {
    const scheduler = new FlushScheduler();
    const sinks = [new FakeSink(), new FakeSink(), new FakeSink()];
    const outboxes = sinks.map((s) => new Outbox(s, scheduler, 1024, { outboxOverflowed: () => undefined }, () => 0));
    for (const [i, o] of outboxes.entries()) {
      o.push(b(`${i}a`));
      o.push(b(`${i}b`));
    }
    await nextTurn();
    expect(sinks.map((s) => s.writes.map(String))).toEqual([['0a0b'], ['1a1b'], ['2a2b']]);
  });

  it('flush() writes at once, and the scheduled flush then writes nothing more', async () => {
    const { sink, outbox } = setup();
    outbox.push(b('bye\n'));
    outbox.flush();
    expect(sink.writes.map(String)).toEqual(['bye\n']);
    await nextTurn();
    expect(sink.writes).toHaveLength(1);
  });

  it('a push after a manual flush in the same turn is still written', async () => {
    const { sink, outbox } = setup();
    outbox.push(b('a'));
    outbox.flush();
    outbox.push(b('b'));
    await nextTurn();
    expect(sink.writes.map(String)).toEqual(['a', 'b']);
  });
});

describe('Outbox: overflow', () => {
  it('past the limit: onOverflow once on the next tick, queued and later frames dropped', async () => {
    const { sink, outbox, onOverflow } = setup(10);
    outbox.push(b('123456'));
    expect(outbox.overflowed).toBe(false);
    outbox.push(b('789012'));
    expect(outbox.overflowed).toBe(true);
    expect(onOverflow).not.toHaveBeenCalled();
    outbox.push(b('more'));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(onOverflow).toHaveBeenCalledTimes(1);
    outbox.push(b('even more'));
    await nextTurn();
    expect(onOverflow).toHaveBeenCalledTimes(1);
    expect(sink.writes).toEqual([]);
    expect(outbox.pendingBytes).toBe(0);
  });

  it('exactly the limit is not an overflow', async () => {
    const { sink, outbox, onOverflow } = setup(10);
    outbox.push(b('12345'));
    outbox.push(b('67890'));
    await nextTurn();
    expect(outbox.overflowed).toBe(false);
    expect(onOverflow).not.toHaveBeenCalled();
    expect(sink.writes.map(String)).toEqual(['1234567890']);
  });

  it('counts what the socket still holds', async () => {
    const { sink, outbox, onOverflow } = setup(10);
    sink.writableLength = 8;
    expect(outbox.pendingBytes).toBe(8);
    outbox.push(b('12'));
    expect(outbox.overflowed).toBe(false);
    outbox.push(b('3'));
    expect(outbox.overflowed).toBe(true);
    await nextTurn();
    expect(onOverflow).toHaveBeenCalledTimes(1);
    expect(sink.writes).toEqual([]);
  });

  it('a limit of 0 never overflows', async () => {
    const { sink, outbox, onOverflow } = setup(0);
    sink.writableLength = 1 << 30;
    for (let i = 0; i < 100; i++) outbox.push(Buffer.alloc(1 << 16));
    await nextTurn();
    expect(onOverflow).not.toHaveBeenCalled();
    expect(sink.writes).toHaveLength(1);
    expect(sink.writes[0]!.length).toBe(100 << 16);
  });
});

describe('Outbox: stalled()', () => {
  it('is false while nothing was ever written', () => {
    const { outbox, clock } = setup();
    clock.t = 1_000_000;
    expect(outbox.stalled(0)).toBe(false);
  });

  it('is true once output pends without progress for longer than the timeout', () => {
    const { sink, outbox, clock } = setup();
    clock.t = 1000;
    outbox.push(b('x'));
    outbox.flush();
    sink.writableLength = 1;
    clock.t = 1100;
    expect(outbox.stalled(100)).toBe(false);
    clock.t = 1101;
    expect(outbox.stalled(100)).toBe(true);
  });

  it('progress (a write callback with more pending) restarts the clock', () => {
    const { sink, outbox, clock } = setup();
    outbox.push(b('a'));
    outbox.flush();
    outbox.push(b('b'));
    outbox.flush();
    sink.writableLength = 1;
    clock.t = 50;
    sink.callbacks[0]!();
    clock.t = 150;
    expect(outbox.stalled(100)).toBe(false);
    clock.t = 151;
    expect(outbox.stalled(100)).toBe(true);
  });

  it('is false once everything was handed over', () => {
    const { sink, outbox, clock } = setup();
    outbox.push(b('a'));
    outbox.flush();
    sink.writableLength = 0;
    sink.callbacks[0]!();
    clock.t = 10_000;
    expect(outbox.stalled(100)).toBe(false);
  });

  it('is false when the socket holds nothing, whatever the time', () => {
    const { sink, outbox, clock } = setup();
    outbox.push(b('a'));
    outbox.flush();
    sink.writableLength = 0;
    clock.t = 10_000;
    expect(outbox.stalled(100)).toBe(false);
  });

  it('a failed write does not count as progress', () => {
    const { sink, outbox, clock } = setup();
    outbox.push(b('a'));
    outbox.flush();
    sink.writableLength = 1;
    clock.t = 90;
    sink.callbacks[0]!(new Error('EPIPE'));
    clock.t = 101;
    expect(outbox.stalled(100)).toBe(true);
  });
});
