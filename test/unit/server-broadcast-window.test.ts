import { describe, expect, it, vi } from 'vitest';
import { FlushScheduler, Outbox, PRESENCE_HOLD_MS } from '../../src/server/outbox.js';
import { LocalRoom, type RoomEvent, type RoomMember } from '../../src/server/room.js';
import { FakeSink, nextTurn } from '../helpers/fake-sink.js';

/** Each write costs `writeMs` on the test clock, as a real socket write costs CPU time. */
class CostlySink extends FakeSink {
  constructor(
    private readonly clock: { t: number },
    private readonly writeMs: number,
  ) {
    super();
  }
  override write(chunk: Buffer, callback?: (error?: Error | null) => void): boolean {
    this.clock.t += this.writeMs;
    return super.write(chunk, callback);
  }
}

class Member implements RoomMember {
  readonly sink: CostlySink;
  readonly outbox: Outbox;
  readonly mode = 'text' as const;
  constructor(
    readonly username: string,
    scheduler: FlushScheduler,
    clock: { t: number },
    limit = 0,
    onOverflow: () => void = () => undefined,
    writeMs = 0.1,
  ) {
    this.sink = new CostlySink(clock, writeMs);
    this.outbox = new Outbox(this.sink, scheduler, limit, { outboxOverflowed: onOverflow }, () => clock.t);
  }
}

const say = (from: string, text: string): RoomEvent => ({ type: 'message', from, text, ts: '2024-05-01T10:00:00.000Z' });

/** Resolves once `done()` holds; fails the test after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Three text members; a flush of all three costs 0.3 ms on the test clock, so the window is 3 ms. */
function setup(windowMaxMs = 4, limits: number[] = [0, 0, 0], onOverflow = vi.fn(), writeMs = 0.1) {
  const clock = { t: 1000 };
  // The windows' clock runs with real time (their timers are real) plus what the fake writes cost.
  const started = performance.now();
  const scheduler = new FlushScheduler({ windowMaxMs, clock: () => clock.t + (performance.now() - started) });
  const room = new LocalRoom(scheduler);
  const [a, b, c] = ['a', 'b', 'c'].map((name, i) => new Member(name, scheduler, clock, limits[i], onOverflow, writeMs)) as [Member, Member, Member];
  for (const member of [a, b, c]) room.join(member);
  return { clock, room, a, b, c, onOverflow };
}

/** One message, flushed, so the next message finds the server busy. */
async function warm(room: LocalRoom, from: Member): Promise<void> {
  room.publish(say(from.username, 'first'), from);
  await nextTurn();
}

describe('broadcast flush window', () => {
  it('when the server is quiet, a lone message is written at the end of its turn', async () => {
    const { room, a, b, c } = setup();
    room.publish(say('a', 'hello'), a);
    await nextTurn();
    expect(b.sink.writes).toEqual(['a: hello\n']);
    expect(c.sink.writes).toEqual(['a: hello\n']);
    expect(a.sink.writes).toEqual([]);
  });

  it('right after a flush, messages of later turns wait for the window and share one write per member', async () => {
    const { room, a, b, c } = setup();
    await warm(room, a);
    room.publish(say('a', 'two'), a);
    await nextTurn();
    expect(b.sink.writes).toEqual(['a: first\n']);
    room.publish(say('b', 'three'), b);
    await until(() => c.sink.writes.length === 2);
    expect(c.sink.writes).toEqual(['a: first\n', 'a: two\nb: three\n']);
    expect(b.sink.writes).toEqual(['a: first\n', 'a: two\n']);
    expect(a.sink.writes).toEqual(['b: three\n']);
  });

  it('a held batch is written once its messages stop coming, long before a long window ends', async () => {
    // Writes of 10 ms each on the test clock: the warm-up's flush (two writes) costs 20 ms, so the window is 200 ms.
    const { room, a, b, c } = setup(400, [0, 0, 0], vi.fn(), 10);
    await warm(room, a);
    const started = Date.now();
    room.publish(say('a', 'two'), a);
    await nextTurn();
    room.publish(say('c', 'three'), c);
    expect(b.sink.writes).toEqual(['a: first\n']);
    await until(() => b.sink.writes.length === 2, 1000);
    // The burst (two messages) is over: written a few usual gaps after its last one (tens of ms here), not at the window's end.
    expect(Date.now() - started).toBeLessThan(120);
    expect(b.sink.writes[1]).toBe('a: two\nc: three\n');
  });

  it('with the bound at 0, every turn is written (no window)', async () => {
    const { room, a, b } = setup(0);
    await warm(room, a);
    room.publish(say('a', 'two'), a);
    await nextTurn();
    expect(b.sink.writes).toEqual(['a: first\n', 'a: two\n']);
  });

  it('a reply does not wait for the window, and comes after the broadcasts before it: order is kept', async () => {
    const { room, a, b, c } = setup();
    await warm(room, a);
    room.publish(say('c', 'x'), c);
    b.outbox.push(Buffer.from('* reply to b\n'));
    room.publish(say('c', 'y'), c);
    await nextTurn();
    // b's reply went out at the end of the turn, between what was published before and after it.
    expect(b.sink.writes).toEqual(['a: first\n', 'c: x\n* reply to b\nc: y\n']);
    expect(a.sink.writes).toEqual([]);
    room.publish(say('a', 'z'), a);
    await until(() => a.sink.writes.length === 1 && b.sink.writes.length === 3);
    expect(b.sink.text).toBe('a: first\nc: x\n* reply to b\nc: y\na: z\n');
    expect(a.sink.text).toBe('c: x\nc: y\n');
    expect(c.sink.text).toBe('a: first\na: z\n');
  });

  it('the slow-consumer limit still holds: a held batch that passes it drops that member, not the others', async () => {
    const { room, a, b, c, onOverflow } = setup(4, [0, 0, 40]);
    await warm(room, a);
    c.sink.writableLength = 30;
    room.publish(say('a', 'x'.repeat(20)), a);
    await nextTurn();
    await until(() => b.sink.writes.length === 2);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(onOverflow).toHaveBeenCalledTimes(1);
    expect(c.outbox.overflowed).toBe(true);
    expect(c.sink.writes).toEqual(['a: first\n']);
    expect(b.sink.writes[1]).toBe(`a: ${'x'.repeat(20)}\n`);
  });

  it('the write timeout still holds: a member whose socket makes no progress is stalled while the window keeps writing', async () => {
    const { room, a, b, c, clock } = setup();
    await warm(room, a);
    c.sink.writableLength = 100;
    room.publish(say('a', 'again'), a);
    await until(() => b.sink.writes.length === 2);
    expect(c.sink.writes).toHaveLength(2);
    expect(c.outbox.stalled(15_000)).toBe(false);
    clock.t += 15_001;
    expect(c.outbox.stalled(15_000)).toBe(true);
    expect(b.outbox.stalled(15_000)).toBe(false);
  });

  describe('presence (joins and leaves)', () => {
    const join = (user: string): RoomEvent => ({ type: 'join', user });
    const leave = (user: string): RoomEvent => ({ type: 'leave', user, reason: 'disconnected' });

    it('joins of later turns wait for each other (a login storm) and share one write per member', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const { room, b } = setup();
        room.publish(join('x1'));
        await nextTurn();
        expect(b.sink.writes).toEqual([]);
        room.publish(join('x2'));
        room.publish(leave('x3'));
        vi.advanceTimersByTime(PRESENCE_HOLD_MS - 1);
        await nextTurn();
        expect(b.sink.writes).toEqual([]);
        vi.advanceTimersByTime(1);
        await nextTurn();
        expect(b.sink.writes).toEqual(['* x1 has joined the chat.\n* x2 has joined the chat.\n* x3 left the chat (connection lost).\n']);
      } finally {
        vi.useRealTimers();
      }
    });

    it('a message brings held joins forward, after them: a join never comes after its user\'s message, and a message never waits for presence', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const { room, a, b } = setup();
        room.publish(join('x1'));
        room.publish(say('a', 'hi'), a);
        await nextTurn();
        expect(b.sink.writes).toEqual(['* x1 has joined the chat.\na: hi\n']);
        // The presence timer was cleared: nothing more is written for that batch.
        vi.advanceTimersByTime(PRESENCE_HOLD_MS);
        await nextTurn();
        expect(b.sink.writes).toHaveLength(1);
      } finally {
        vi.useRealTimers();
      }
    });

    it('a reply to a member comes after the presence held before it', async () => {
      const { room, b } = setup();
      room.publish(join('x1'));
      b.outbox.push(Buffer.from('* reply to b\n'));
      await nextTurn();
      expect(b.sink.text).toBe('* x1 has joined the chat.\n* reply to b\n');
    });

    it('with the bound at 0 presence is written every turn too', async () => {
      const { room, b } = setup(0);
      room.publish(join('x1'));
      await nextTurn();
      expect(b.sink.writes).toEqual(['* x1 has joined the chat.\n']);
    });
  });
});
