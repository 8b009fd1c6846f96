import { describe, expect, it } from 'vitest';
import { LocalRoom, type RoomEvent, type RoomMember, type WireMode } from '../../src/server/room.js';

class FakeMember implements RoomMember {
  frames: Buffer[] = [];
  onDeliver: (() => void) | undefined;
  constructor(
    readonly username: string,
    readonly mode: WireMode,
  ) {}
  deliver(frame: Buffer): void {
    this.frames.push(frame);
    this.onDeliver?.();
  }
  get text(): string {
    return this.frames.map((f) => f.toString('utf8')).join('');
  }
}

const MESSAGE: RoomEvent = { type: 'message', from: 'shon', text: 'שלום 👋', ts: '2024-05-01T10:00:00.000Z' };
const MESSAGE_TEXT = 'shon: שלום 👋\n';
const MESSAGE_JSON = '{"type":"message","from":"shon","text":"שלום 👋","ts":"2024-05-01T10:00:00.000Z"}\n';

function room(...members: FakeMember[]): LocalRoom {
  const r = new LocalRoom();
  for (const m of members) r.join(m);
  return r;
}

describe('LocalRoom.publish', () => {
  it('encodes once per mode: every member of a mode gets the same Buffer', () => {
    const shon = new FakeMember('shon', 'text');
    const ron = new FakeMember('ron', 'text');
    const itay = new FakeMember('itay', 'text');
    const bot1 = new FakeMember('bot1', 'json');
    const bot2 = new FakeMember('bot2', 'json');
    room(shon, ron, itay, bot1, bot2).publish(MESSAGE, shon);

    expect(ron.frames).toHaveLength(1);
    expect(itay.frames[0]).toBe(ron.frames[0]);
    expect(bot2.frames[0]).toBe(bot1.frames[0]);
    expect(ron.text).toBe(MESSAGE_TEXT);
    expect(bot1.text).toBe(MESSAGE_JSON);
  });

  it('never sends to the sender', () => {
    const shon = new FakeMember('shon', 'text');
    const ron = new FakeMember('ron', 'json');
    room(shon, ron).publish(MESSAGE, shon);
    expect(shon.frames).toEqual([]);
    expect(ron.frames).toHaveLength(1);
  });

  it('without a sender, everyone gets it', () => {
    const a = new FakeMember('a', 'text');
    const b = new FakeMember('b', 'json');
    room(a, b).publish({ type: 'leave', user: 'c', reason: 'quit' });
    expect(a.text).toBe('* c left the chat.\n');
    expect(b.text).toBe('{"type":"leave","user":"c","reason":"quit"}\n');
  });

  it('renders join for both modes', () => {
    const a = new FakeMember('a', 'text');
    const b = new FakeMember('b', 'json');
    const ron = new FakeMember('ron', 'text');
    room(a, b, ron).publish({ type: 'join', user: 'ron' }, ron);
    expect(a.text).toBe('* ron has joined the chat.\n');
    expect(b.text).toBe('{"type":"join","user":"ron"}\n');
  });

  it('a join during a publish does not receive that event; the others still do', () => {
    const r = new LocalRoom();
    const a = new FakeMember('a', 'text');
    const b = new FakeMember('b', 'text');
    const c = new FakeMember('c', 'text');
    const late = new FakeMember('late', 'text');
    r.join(a);
    r.join(b);
    r.join(c);
    b.onDeliver = () => r.join(late);
    r.publish(MESSAGE);
    expect([a.frames.length, b.frames.length, c.frames.length, late.frames.length]).toEqual([1, 1, 1, 0]);
    expect(r.usernames()).toEqual(['a', 'b', 'c', 'late']);
    b.onDeliver = undefined;
    r.publish(MESSAGE);
    expect(late.frames).toHaveLength(1);
  });

  it('a leave during a publish does not skip anyone underway', () => {
    const r = new LocalRoom();
    const a = new FakeMember('a', 'json');
    const b = new FakeMember('b', 'json');
    const c = new FakeMember('c', 'json');
    const d = new FakeMember('d', 'json');
    for (const m of [a, b, c, d]) r.join(m);
    b.onDeliver = () => {
      r.leave(b);
      r.leave(a);
    };
    r.publish(MESSAGE);
    expect([a, b, c, d].map((m) => m.frames.length)).toEqual([1, 1, 1, 1]);
    expect(r.usernames()).toEqual(['c', 'd']);
    r.publish(MESSAGE);
    expect([a, b, c, d].map((m) => m.frames.length)).toEqual([1, 1, 2, 2]);
  });

  it('an empty room is fine', () => {
    expect(() => new LocalRoom().publish(MESSAGE)).not.toThrow();
  });
});

describe('LocalRoom membership', () => {
  it('lists usernames in join order, counts, and forgets who left', () => {
    const a = new FakeMember('Shon', 'text');
    const b = new FakeMember('ron', 'json');
    const r = room(a, b);
    expect(r.size).toBe(2);
    expect(r.usernames()).toEqual(['Shon', 'ron']);
    r.leave(a);
    r.leave(a);
    expect(r.size).toBe(1);
    expect(r.usernames()).toEqual(['ron']);
  });

  it('joining twice keeps one membership', () => {
    const a = new FakeMember('a', 'text');
    const r = room(a, a);
    expect(r.size).toBe(1);
    r.publish(MESSAGE);
    expect(a.frames).toHaveLength(1);
  });

  it('leaving a member that never joined changes nothing', () => {
    const a = new FakeMember('a', 'text');
    const r = room(a);
    r.leave(new FakeMember('x', 'text'));
    expect(r.usernames()).toEqual(['a']);
  });

  it('usernames() returns a copy', () => {
    const r = room(new FakeMember('a', 'text'));
    r.usernames().push('intruder');
    expect(r.usernames()).toEqual(['a']);
  });
});
