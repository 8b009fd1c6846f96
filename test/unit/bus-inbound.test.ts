import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { encodeBusMessage } from '../../src/bus/codec.js';
import { Inbound, type BusEntry } from '../../src/bus/inbound.js';
import { captureLog } from '../helpers/bus-traffic.js';

const join = (user: string): BusMessage => ({ type: 'room', event: { type: 'join', user } });

function entry(origin: string, seq: number, message: BusMessage = join(`${origin}${seq}`), to?: string, incarnation = 'i1'): BusEntry {
  return { origin, incarnation, seq, to, body: encodeBusMessage(message) };
}

function setup(maxOrigins?: number) {
  const log = captureLog();
  const inbound = new Inbound('self', log, maxOrigins);
  const got: Array<[string, string]> = [];
  inbound.subscribe((message, origin) => got.push([origin, message.type === 'room' && message.event.type === 'join' ? message.event.user : message.type]));
  return { inbound, got, log };
}

describe('Inbound', () => {
  it('hands entries of others to the subscribers in order, and skips its own', () => {
    const { inbound, got } = setup();
    for (const e of [entry('a', 1), entry('self', 1), entry('b', 1), entry('a', 2)]) inbound.receive(e);
    expect(got).toEqual([
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', 'a2'],
    ]);
    expect(inbound.delivered).toBe(3);
  });

  it('skips copies: an entry at or below the last sequence number seen from its origin', () => {
    const { inbound, got } = setup();
    for (const seq of [1, 2, 1, 2, 3, 3]) inbound.receive(entry('a', seq));
    expect(got.map(([, user]) => user)).toEqual(['a1', 'a2', 'a3']);
    expect(inbound.duplicates).toBe(3);
  });

  it('counts a gap in an origin\'s numbers as lost, logs it with the count, and delivers what came', () => {
    const { inbound, got, log } = setup();
    for (const seq of [4, 5, 9, 10]) inbound.receive(entry('a', seq));
    // Joining late (starting at 4) is no gap; 6, 7 and 8 are.
    expect(inbound.lost).toBe(3);
    expect(got).toHaveLength(4);
    expect(log.lines).toEqual([{ event: 'bus_lost', fields: { origin: 'a', count: 3, total: 3 } }]);
  });

  it('numbers of a new incarnation of the same instance id start afresh', () => {
    const { inbound, got } = setup();
    inbound.receive(entry('a', 7, join('old'), undefined, 'first'));
    inbound.receive(entry('a', 1, join('new'), undefined, 'second'));
    expect(got.map(([, user]) => user)).toEqual(['old', 'new']);
    expect(inbound.duplicates).toBe(0);
  });

  it('delivers an addressed entry only where it is addressed, and still counts it in the sender\'s order', () => {
    const { inbound, got } = setup();
    inbound.receive(entry('a', 1, join('for-self'), 'self'));
    inbound.receive(entry('a', 2, join('for-other'), 'other'));
    inbound.receive(entry('a', 3));
    expect(got.map(([, user]) => user)).toEqual(['for-self', 'a3']);
    expect(inbound.lost).toBe(0);
  });

  it('skips and counts a body that is not a bus message', () => {
    const { inbound, got, log } = setup();
    inbound.receive({ origin: 'a', incarnation: 'i', seq: 1, to: undefined, body: '{"type":"nonsense"}' });
    inbound.receive(entry('a', 2));
    expect(inbound.malformed).toBe(1);
    expect(got).toHaveLength(1);
    expect(log.lines[0]!.event).toBe('bus_malformed');
  });

  it('a handler that throws is logged and the others still run', () => {
    const { inbound, got, log } = setup();
    inbound.subscribe(() => {
      throw new Error('boom');
    });
    const third: string[] = [];
    inbound.subscribe((message) => third.push(message.type));
    inbound.receive(entry('a', 1));
    expect(got).toHaveLength(1);
    expect(third).toEqual(['room']);
    expect(log.lines).toEqual([{ event: 'bus_handler_error', fields: { type: 'room', error: 'boom' } }]);
  });

  it('unsubscribing stops delivery to that handler', () => {
    const { inbound, got } = setup();
    const other: string[] = [];
    const stop = inbound.subscribe((message) => other.push(message.type));
    inbound.receive(entry('a', 1));
    stop();
    inbound.receive(entry('a', 2));
    expect(other).toHaveLength(1);
    expect(got).toHaveLength(2);
  });

  it('remembers a bounded number of origins, forgetting the least recently heard', () => {
    const { inbound } = setup(2);
    inbound.receive(entry('a', 5));
    inbound.receive(entry('b', 5));
    inbound.receive(entry('a', 6)); // a is now the most recent
    inbound.receive(entry('c', 1)); // b is forgotten
    inbound.receive(entry('a', 6));
    expect(inbound.duplicates).toBe(1);
    inbound.receive(entry('b', 5)); // new again: delivered, not a copy
    expect(inbound.duplicates).toBe(1);
    expect(inbound.delivered).toBe(5);
  });
});
