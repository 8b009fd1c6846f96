import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { decodeBusMessage, encodeBusMessage } from '../../src/bus/codec.js';

const VALID: BusMessage[] = [
  { type: 'room', event: { type: 'message', id: '0mi3k2x1a000-3f2a9c1b4d5e4f60', from: 'shon', text: 'hi', ts: '2026-12-01T10:00:00.000Z' } },
  { type: 'room', event: { type: 'join', user: 'ron' } },
  { type: 'room', event: { type: 'leave', user: 'ron', reason: 'disconnected' } },
  { type: 'dm', to: 'ron', id: 'x-1', from: 'shon', text: 'psst', ts: '2026-12-01T10:00:00.000Z' },
  { type: 'dm_receipt', id: 'x-1', to: 'ron', delivered: false },
  { type: 'end_session', username: 'ron', kind: 'kicked' },
  { type: 'end_session', username: 'ron', sessionId: 's-1', kind: 'disabled', note: 'left the company' },
  { type: 'presence_request' },
  { type: 'presence', users: ['shon', 'ron'] },
  { type: 'presence', users: [] },
];

const INVALID: Array<[string, string]> = [
  ['not JSON', '{"type":'],
  ['not an object', '"room"'],
  ['null', 'null'],
  ['an unknown type', '{"type":"telepathy"}'],
  ['a room event of an unknown type', '{"type":"room","event":{"type":"explode"}}'],
  ['a room message without an id', '{"type":"room","event":{"type":"message","from":"a","text":"b","ts":"c"}}'],
  ['a leave with an unknown reason', '{"type":"room","event":{"type":"leave","user":"a","reason":"bored"}}'],
  ['a room message without its event', '{"type":"room"}'],
  ['a dm with a numeric text', '{"type":"dm","to":"a","id":"1","from":"b","text":5,"ts":"c"}'],
  ['a receipt without delivered', '{"type":"dm_receipt","id":"1","to":"a"}'],
  ['an end of session of an unknown kind', '{"type":"end_session","username":"a","kind":"banished"}'],
  ['an end of session with a numeric note', '{"type":"end_session","username":"a","kind":"kicked","note":1}'],
  ['a presence without users', '{"type":"presence"}'],
  ['a presence with a non-string user', '{"type":"presence","users":["a",1]}'],
];

describe('bus codec', () => {
  it.each(VALID.map((message) => [message.type, message] as const))('reads back what it wrote: %s', (_type, message) => {
    expect(decodeBusMessage(encodeBusMessage(message))).toEqual(message);
  });

  it.each(INVALID)('refuses %s', (_what, body) => {
    expect(decodeBusMessage(body)).toBeUndefined();
  });
});
