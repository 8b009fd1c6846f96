import { describe, expect, it } from 'vitest';
import { FlushScheduler } from '../../src/server/outbox.js';
import { IllegalSeatTransitionError, Presence } from '../../src/server/presence.js';
import { LocalRoom } from '../../src/server/room.js';
import type { SessionEnd } from '../../src/server/session-end-writer.js';
import { FakeMember } from '../helpers/fake-member.js';
import { nextTurn } from '../helpers/fake-sink.js';

/** Collects ends; `commit()` plays the store writing them. */
class FakeEnds {
  queued: Array<{ end: SessionEnd; written?: () => void }> = [];
  write(end: SessionEnd, written?: () => void): void {
    this.queued.push(written === undefined ? { end } : { end, written });
  }
  commit(): void {
    for (const item of this.queued.splice(0)) item.written?.();
  }
}

function setup() {
  const scheduler = new FlushScheduler();
  const room = new LocalRoom(scheduler);
  const ends = new FakeEnds();
  let now = 1_000_000;
  const presence = new Presence(room, ends, 'instance-1', () => now);
  const other = new FakeMember('ron', 'text', scheduler);
  room.join(other);
  const seatFor = (name: string, id = `s-${name}`) =>
    presence.claim({ sessionId: id, username: name, peerAddress: '127.0.0.1', mode: 'json', connectedAt: now });
  return { scheduler, room, ends, presence, other, seatFor, advance: (ms: number) => (now += ms) };
}

describe('Presence: one seat per session, claimed → in_room → leaving → released', () => {
  it('a seat is held from its claim until it leaves; released once its end is written', async () => {
    const { presence, ends, seatFor, scheduler, other, advance } = setup();
    const seat = seatFor('shon');
    expect(seat.state).toBe('claimed');
    expect(presence.holds('s-shon')).toBe(true);
    const shon = new FakeMember('shon', 'json', scheduler);
    seat.enter(shon);
    expect(seat.state).toBe('in_room');
    expect(presence.usernames()).toEqual(['ron', 'shon']);
    advance(5000);
    seat.leave('quit');
    expect(seat.state).toBe('leaving');
    expect(presence.holds('s-shon')).toBe(false);
    expect(presence.usernames()).toEqual(['ron']);
    await nextTurn();
    expect(other.sink.writes.join('')).toBe('* shon has joined the chat.\n* shon left the chat.\n');
    expect(ends.queued).toHaveLength(1);
    expect(ends.queued[0]!.end).toMatchObject({ sessionId: 's-shon', audit: { event: 'session_end', reason: 'quit', username: 'shon', duration_ms: 5000, instance_id: 'instance-1' } });
    ends.commit();
    expect(seat.state).toBe('released');
    expect(presence.size).toBe(0);
  });

  it('leaving twice queues one end', () => {
    const { ends, seatFor } = setup();
    const seat = seatFor('shon');
    seat.leave('disconnected');
    seat.leave('quit');
    expect(ends.queued.map((q) => q.end.audit.reason)).toEqual(['disconnected']);
  });

  it('a seat that never entered the room (its connection was gone) leaves silently, and its end is still written', async () => {
    const { ends, seatFor, other } = setup();
    seatFor('shon').leave('disconnected');
    await nextTurn();
    expect(other.sink.writes).toEqual([]);
    expect(ends.queued).toHaveLength(1);
  });

  it('at shutdown nobody hears the others leave', async () => {
    const { seatFor, scheduler, other } = setup();
    const seat = seatFor('shon');
    seat.enter(new FakeMember('shon', 'text', scheduler));
    await nextTurn();
    const before = other.sink.writes.length;
    seat.leave('shutdown');
    await nextTurn();
    expect(other.sink.writes.slice(before)).toEqual([]);
  });

  it('a seat cannot enter twice or after leaving', () => {
    const { seatFor, scheduler } = setup();
    const seat = seatFor('shon');
    seat.leave('quit');
    expect(() => seat.enter(new FakeMember('shon', 'text', scheduler))).toThrow(IllegalSeatTransitionError);
  });
});
