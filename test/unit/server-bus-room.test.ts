import { describe, expect, it } from 'vitest';
import { MemoryBus, MemoryBusNetwork } from '../../src/bus/memory-bus.js';
import { BusRoom } from '../../src/server/bus-room.js';
import { FlushScheduler } from '../../src/server/outbox.js';
import { LocalRoom, type WireMode } from '../../src/server/room.js';
import { FakeMember } from '../helpers/fake-member.js';
import { waitUntil } from '../helpers/bus-traffic.js';
import { nextTurn } from '../helpers/fake-sink.js';

interface Instance {
  room: BusRoom;
  bus: MemoryBus;
  scheduler: FlushScheduler;
  member(name: string, mode?: WireMode): FakeMember;
}

async function instance(network: MemoryBusNetwork, id: string): Promise<Instance> {
  const scheduler = new FlushScheduler();
  const bus = new MemoryBus(network, id);
  await bus.start();
  let n = 0;
  const room = new BusRoom(new LocalRoom(scheduler), bus, () => `${id}-${++n}`);
  room.announce();
  return {
    room,
    bus,
    scheduler,
    member: (name, mode = 'json') => {
      const member = new FakeMember(name, mode, scheduler);
      // What Presence does when a seat enters.
      room.join(member);
      room.publish({ type: 'join', user: name }, member);
      return member;
    },
  };
}

const TS = '2026-12-01T10:00:00.000Z';

describe('BusRoom', () => {
  it('a message said on one instance reaches members on the others once, with one id, and never its sender', async () => {
    const network = new MemoryBusNetwork();
    const a = await instance(network, 'a');
    const b = await instance(network, 'b');
    const shon = a.member('shon');
    const itay = a.member('itay', 'text');
    const ron = b.member('ron');
    await nextTurn();
    a.room.publish({ type: 'message', from: 'shon', text: 'hi all', ts: TS }, shon);
    await waitUntil(() => ron.lines.some((line) => line.includes('hi all')), 2000, 'the message on b');
    await nextTurn();
    const onB = ron.lines.filter((line) => line.includes('"message"'));
    expect(onB).toEqual(['{"type":"message","from":"shon","text":"hi all","ts":"2026-12-01T10:00:00.000Z","id":"a-1"}']);
    expect(itay.lines).toContain('shon: hi all');
    expect(shon.lines.filter((line) => line.includes('hi all'))).toEqual([]);
  });

  it('keeps an id the message already has', async () => {
    const network = new MemoryBusNetwork();
    const a = await instance(network, 'a');
    const b = await instance(network, 'b');
    const ron = b.member('ron');
    a.room.publish({ type: 'message', from: 'shon', text: 'x', ts: TS, id: 'given' } as never);
    await waitUntil(() => ron.lines.some((line) => line.includes('"id":"given"')), 2000, 'the message with its id');
  });

  it('lists everyone in the cluster, also to an instance that starts after them', async () => {
    const network = new MemoryBusNetwork();
    const a = await instance(network, 'a');
    a.member('shon');
    a.member('itay');
    const b = await instance(network, 'b');
    b.member('ron');
    await waitUntil(() => b.room.usernames().length === 3 && a.room.usernames().length === 3, 2000, 'both lists');
    expect(b.room.usernames()).toEqual(['ron', 'shon', 'itay']);
    expect(a.room.usernames()).toEqual(['shon', 'itay', 'ron']);
    expect(a.room.size).toBe(2);
  });

  it('joins and leaves elsewhere reach the members here and the list', async () => {
    const network = new MemoryBusNetwork();
    const a = await instance(network, 'a');
    const b = await instance(network, 'b');
    const ron = b.member('ron');
    const shon = a.member('shon');
    await waitUntil(() => ron.lines.includes('{"type":"join","user":"shon"}'), 2000, 'the join on b');
    a.room.leave(shon);
    a.room.publish({ type: 'leave', user: 'shon', reason: 'quit' }, shon);
    await waitUntil(() => ron.lines.includes('{"type":"leave","user":"shon","reason":"quit"}'), 2000, 'the leave on b');
    expect(b.room.usernames()).toEqual(['ron']);
  });

  it('an instance that stops or is forgotten takes its users with it, as disconnected', async () => {
    const network = new MemoryBusNetwork();
    const a = await instance(network, 'a');
    const b = await instance(network, 'b');
    const c = await instance(network, 'c');
    const ron = b.member('ron');
    a.member('shon');
    c.member('itay');
    await waitUntil(() => b.room.usernames().length === 3, 2000, 'everyone on b');
    a.room.close();
    await waitUntil(() => ron.lines.includes('{"type":"leave","user":"shon","reason":"disconnected"}'), 2000, 'shon leaving with a');
    expect(b.room.forgetInstance('c')).toEqual(['itay']);
    await nextTurn();
    expect(ron.lines).toContain('{"type":"leave","user":"itay","reason":"disconnected"}');
    expect(b.room.usernames()).toEqual(['ron']);
    expect(b.room.forgetInstance('c')).toEqual([]);
  });

  it('a user who comes back on another instance (a resume after the first one died) is listed once: the members hear a leave then the join, and forgetting the dead instance announces nothing more', async () => {
    const network = new MemoryBusNetwork();
    const a = await instance(network, 'a');
    const b = await instance(network, 'b');
    const c = await instance(network, 'c');
    const ron = b.member('ron');
    a.member('shon');
    await waitUntil(() => b.room.usernames().length === 2 && c.room.usernames().length === 2, 2000, 'shon seen from b and c');
    // a dies silently; shon resumes on c.
    c.member('shon');
    await waitUntil(() => ron.lines.filter((line) => line.includes('"join","user":"shon"')).length === 2, 2000, 'the second join on b');
    expect(b.room.usernames().sort()).toEqual(['ron', 'shon']);
    expect(c.room.usernames()).toEqual(['shon', 'ron']);
    expect(b.room.forgetInstance('a')).toEqual([]);
    expect(c.room.forgetInstance('a')).toEqual([]);
    await nextTurn();
    expect(ron.lines.filter((line) => line.includes('"user":"shon"'))).toEqual([
      '{"type":"join","user":"shon"}',
      '{"type":"leave","user":"shon","reason":"disconnected"}',
      '{"type":"join","user":"shon"}',
    ]);
  });

  it('a forgotten instance is not heard again until it speaks up with presence (a stalled one, cleared by the others)', async () => {
    const network = new MemoryBusNetwork();
    const a = await instance(network, 'a');
    const b = await instance(network, 'b');
    const ron = b.member('ron');
    const shon = a.member('shon');
    await waitUntil(() => b.room.usernames().length === 2, 2000, 'shon on b');
    expect(b.room.forgetInstance('a')).toEqual(['shon']);
    a.room.publish({ type: 'message', from: 'shon', text: 'from the freeze', ts: TS }, shon);
    a.room.sharePresence();
    a.member('itay');
    a.room.publish({ type: 'message', from: 'itay', text: 'after', ts: TS });
    await waitUntil(() => ron.lines.some((line) => line.includes('"after"')), 2000, 'what a says after its presence');
    expect(ron.lines.filter((line) => line.includes('from the freeze'))).toEqual([]);
    expect(b.room.usernames()).toEqual(['ron', 'shon', 'itay']);
  });

  it('one session per user: a user joining on one instance leaves the one it was still listed on, and the members hear the leave first', async () => {
    const network = new MemoryBusNetwork();
    const a = await instance(network, 'a');
    const b = await instance(network, 'b');
    const c = await instance(network, 'c');
    const ron = c.member('ron');
    a.member('shon');
    await waitUntil(() => c.room.usernames().includes('shon'), 2000, 'shon on c');
    // a died; c has not found out yet; shon logs in again on b.
    b.member('shon');
    await waitUntil(() => ron.lines.filter((line) => line.includes('"user":"shon"')).length === 3, 2000, 'leave and join on c');
    expect(ron.lines.filter((line) => line.includes('"user":"shon"'))).toEqual([
      '{"type":"join","user":"shon"}',
      '{"type":"leave","user":"shon","reason":"disconnected"}',
      '{"type":"join","user":"shon"}',
    ]);
    expect(c.room.locate('shon')).toBe('b');
    expect(c.room.locate('ron')).toBe('here');
    expect(c.room.locate('nobody')).toBeUndefined();
    expect(c.room.usernames()).toEqual(['ron', 'shon']);
    // ... also when the user comes back on this very instance.
    const itay = a.member('itay');
    await waitUntil(() => c.room.usernames().includes('itay'), 2000, 'itay on c');
    const itayHere = c.member('itay');
    await nextTurn();
    expect(ron.lines.slice(-2)).toEqual(['{"type":"leave","user":"itay","reason":"disconnected"}', '{"type":"join","user":"itay"}']);
    expect(itayHere.lines.filter((line) => line.includes('leave'))).toEqual([]);
    expect(c.room.usernames()).toEqual(['ron', 'itay', 'shon']);
    void itay;
  });
});
