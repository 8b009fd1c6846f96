import { describe, expect, it, vi } from 'vitest';
import { FlushScheduler } from '../../src/server/outbox.js';
import { LocalRoom, type RoomEvent, type WireMode } from '../../src/server/room.js';
import { FakeMember } from '../helpers/fake-member.js';
import { nextTurn } from '../helpers/fake-sink.js';

const MESSAGE: RoomEvent = { type: 'message', from: 'shon', text: 'שלום 👋', ts: '2024-05-01T10:00:00.000Z' };
const MESSAGE_TEXT = 'shon: שלום 👋\n';
const MESSAGE_JSON = '{"type":"message","from":"shon","text":"שלום 👋","ts":"2024-05-01T10:00:00.000Z"}\n';
const say = (from: string, text: string): RoomEvent => ({ type: 'message', from, text, ts: '2024-05-01T10:00:00.000Z' });

function setup(...members: Array<[string, WireMode]>): { room: LocalRoom; scheduler: FlushScheduler; m: FakeMember[] } {
  const scheduler = new FlushScheduler();
  const room = new LocalRoom(scheduler);
  const m = members.map(([name, mode]) => new FakeMember(name, mode, scheduler));
  for (const member of m) room.join(member);
  return { room, scheduler, m };
}

describe('LocalRoom.publish', () => {
  it('encodes once per mode, and every member of a mode writes the very same buffer', async () => {
    const { room, m } = setup(['shon', 'text'], ['ron', 'text'], ['itay', 'text'], ['bot1', 'json'], ['bot2', 'json']);
    const [shon, ron, itay, bot1, bot2] = m as [FakeMember, FakeMember, FakeMember, FakeMember, FakeMember];
    room.publish(MESSAGE, shon);
    await nextTurn();
    expect(ron.sink.writes).toEqual([MESSAGE_TEXT]);
    expect(itay.sink.syscalls[0]![0]).toBe(ron.sink.syscalls[0]![0]);
    expect(bot1.sink.writes).toEqual([MESSAGE_JSON]);
    expect(bot2.sink.syscalls[0]![0]).toBe(bot1.sink.syscalls[0]![0]);
  });

  it('joins everything published in one turn once, and shares that buffer: one write per member per turn', async () => {
    const { room, m } = setup(['a', 'text'], ['b', 'text'], ['c', 'text']);
    const [a, b, c] = m as [FakeMember, FakeMember, FakeMember];
    room.publish(say('x', 'one'));
    room.publish(say('y', 'two'));
    room.publish(say('z', 'three'));
    await nextTurn();
    for (const member of [a, b, c]) expect(member.sink.writes).toEqual(['x: one\ny: two\nz: three\n']);
    expect(b.sink.syscalls[0]![0]).toBe(a.sink.syscalls[0]![0]);
    expect(c.sink.syscalls[0]![0]).toBe(a.sink.syscalls[0]![0]);
  });

  it('never sends to the sender: its write skips its own lines, in order, in one writev', async () => {
    const { room, m } = setup(['a', 'text'], ['b', 'text']);
    const [a, b] = m as [FakeMember, FakeMember];
    room.publish(say('b', '1'), b);
    room.publish(say('a', '2'), a);
    room.publish(say('b', '3'), b);
    room.publish(say('a', '4'), a);
    await nextTurn();
    expect(a.sink.writes).toEqual(['b: 1\nb: 3\n']);
    expect(b.sink.writes).toEqual(['a: 2\na: 4\n']);
  });

  it('without a sender, everyone gets it', async () => {
    const { room, m } = setup(['a', 'text'], ['b', 'json']);
    room.publish({ type: 'leave', user: 'c', reason: 'quit' });
    await nextTurn();
    expect(m[0]!.sink.text).toBe('* c left the chat.\n');
    expect(m[1]!.sink.text).toBe('{"type":"leave","user":"c","reason":"quit"}\n');
  });

  it('keeps each member\'s own frames (acks, replies) in order with the broadcast', async () => {
    const { room, m } = setup(['a', 'json'], ['b', 'json']);
    const [a, b] = m as [FakeMember, FakeMember];
    room.publish(say('x', 'before'));
    room.publish(say('a', 'mine'), a);
    a.outbox.push(Buffer.from('{"type":"ack","id":"1"}\n'));
    room.publish(say('y', 'after'));
    await nextTurn();
    expect(a.sink.text).toBe(
      '{"type":"message","from":"x","text":"before","ts":"2024-05-01T10:00:00.000Z"}\n' +
        '{"type":"ack","id":"1"}\n' +
        '{"type":"message","from":"y","text":"after","ts":"2024-05-01T10:00:00.000Z"}\n',
    );
    expect(a.sink.syscalls).toHaveLength(1);
    expect(b.sink.writes).toHaveLength(1);
  });

  it('a member who joins mid-turn gets only what was published after; one who leaves gets nothing more', async () => {
    const { room, scheduler, m } = setup(['a', 'text'], ['b', 'text']);
    const [a, b] = m as [FakeMember, FakeMember];
    room.publish(say('x', 'early'));
    const late = new FakeMember('late', 'text', scheduler);
    room.join(late);
    room.leave(b);
    room.publish(say('x', 'later'));
    await nextTurn();
    expect(a.sink.text).toBe('x: early\nx: later\n');
    expect(late.sink.text).toBe('x: later\n');
    expect(b.sink.text).toBe('');
    expect(room.usernames()).toEqual(['a', 'late']);
  });

  it('a member flushed early (closing) gets what it was owed, and nothing twice', async () => {
    const { room, m } = setup(['a', 'text'], ['b', 'text']);
    const [a, b] = m as [FakeMember, FakeMember];
    room.publish(say('x', 'one'));
    b.outbox.push(Buffer.from('* Goodbye.\n'));
    b.outbox.flush();
    room.leave(b);
    room.publish(say('x', 'two'));
    await nextTurn();
    expect(b.sink.text).toBe('x: one\n* Goodbye.\n');
    expect(a.sink.text).toBe('x: one\nx: two\n');
  });

  it('the next turn starts a new batch', async () => {
    const { room, m } = setup(['a', 'text'], ['b', 'text']);
    room.publish(say('x', 'one'), m[1]);
    await nextTurn();
    room.publish(say('x', 'two'));
    await nextTurn();
    expect(m[0]!.sink.writes).toEqual(['x: one\n', 'x: two\n']);
    expect(m[1]!.sink.writes).toEqual(['x: two\n']);
  });

  it('drops a member whose owed output passes its limit, without slowing the others', async () => {
    const scheduler = new FlushScheduler();
    const room = new LocalRoom(scheduler);
    const onOverflow = vi.fn();
    const slow = new FakeMember('slow', 'text', scheduler, 64, onOverflow);
    const fast = new FakeMember('fast', 'text', scheduler);
    room.join(slow);
    room.join(fast);
    slow.sink.writableLength = 60;
    room.publish(say('x', 'a line that pushes slow over its limit'));
    await nextTurn();
    expect(onOverflow).toHaveBeenCalledTimes(1);
    expect(slow.sink.syscalls).toEqual([]);
    expect(fast.sink.text).toBe('x: a line that pushes slow over its limit\n');
  });

  it('an empty room is fine', () => {
    const scheduler = new FlushScheduler();
    expect(() => new LocalRoom(scheduler).publish(MESSAGE)).not.toThrow();
  });
});

describe('LocalRoom membership', () => {
  it('lists usernames in join order, counts, and forgets who left', () => {
    const { room, m } = setup(['Shon', 'text'], ['ron', 'json']);
    expect(room.size).toBe(2);
    expect(room.usernames()).toEqual(['Shon', 'ron']);
    room.leave(m[0]!);
    room.leave(m[0]!);
    expect(room.size).toBe(1);
    expect(room.usernames()).toEqual(['ron']);
  });

  it('joining twice keeps one membership', async () => {
    const { room, m } = setup(['a', 'text']);
    room.join(m[0]!);
    expect(room.size).toBe(1);
    room.publish(MESSAGE);
    await nextTurn();
    expect(m[0]!.sink.writes).toEqual([MESSAGE_TEXT]);
  });

  it('leaving a member that never joined changes nothing', () => {
    const { room, scheduler } = setup(['a', 'text']);
    room.leave(new FakeMember('x', 'text', scheduler));
    expect(room.usernames()).toEqual(['a']);
  });

  it('usernames() returns a copy', () => {
    const { room } = setup(['a', 'text']);
    room.usernames().push('intruder');
    expect(room.usernames()).toEqual(['a']);
  });
});
