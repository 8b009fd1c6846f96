import { describe, expect, it } from 'vitest';
import { ProtocolError, WIRE_ERROR_CODES } from '../../src/protocol/errors.js';
import {
  MAX_MESSAGE_ID_LENGTH,
  encodeClientMessage,
  encodeJsonEvent,
  parseClientMessage,
  parseServerMessage,
} from '../../src/protocol/json-codec.js';
import type { ClientMessage, ServerEvent, ServerMessage } from '../../src/protocol/messages.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}

describe('ProtocolError', () => {
  it('carries one of the wire error codes', () => {
    const error = new ProtocolError('bad_request', 'x');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ProtocolError');
    expect(error.code).toBe('bad_request');
    expect([...WIRE_ERROR_CODES]).toEqual(['line_too_long', 'bad_request', 'rate_limited', 'not_logged_in', 'unknown_type']);
  });
});

describe('parseClientMessage', () => {
  it.each<[string, ClientMessage]>([
    ['{"type":"hello","proto":1}', { type: 'hello', proto: 1 }],
    ['{"type":"hello","proto":1,"client":"chat-client/0.1.0"}', { type: 'hello', proto: 1, client: 'chat-client/0.1.0' }],
    ['{"type":"hello","proto":1,"client":7}', { type: 'hello', proto: 1 }],
    ['{"type":"login","username":"shon","password":"s3cret pass"}', { type: 'login', username: 'shon', password: 's3cret pass' }],
    ['{"type":"login","username":"","password":""}', { type: 'login', username: '', password: '' }],
    ['{"type":"say","text":"שלום 👋"}', { type: 'say', text: 'שלום 👋' }],
    ['{"type":"say","text":"hi","id":"m-1"}', { type: 'say', text: 'hi', id: 'm-1' }],
    [`{"type":"say","text":"hi","id":"${'i'.repeat(MAX_MESSAGE_ID_LENGTH)}"}`, { type: 'say', text: 'hi', id: 'i'.repeat(MAX_MESSAGE_ID_LENGTH) }],
    ['{"type":"who"}', { type: 'who' }],
    ['{"type":"pong"}', { type: 'pong' }],
    ['{"type":"quit"}', { type: 'quit' }],
    ['  {"type":"quit"}  ', { type: 'quit' }],
  ])('%s', (line, expected) => {
    expect(parseClientMessage(line)).toEqual(expected);
  });

  it.each<[string, ClientMessage]>([
    ['{"type":"say","text":"hi","colour":"red","nested":{"a":1}}', { type: 'say', text: 'hi' }],
    ['{"type":"who","users":["x"]}', { type: 'who' }],
    ['{"extra":true,"type":"login","username":"a","password":"b","remember":true}', { type: 'login', username: 'a', password: 'b' }],
    ['{"type":"quit","reason":"bye"}', { type: 'quit' }],
  ])('ignores unknown fields: %s', (line, expected) => {
    expect(parseClientMessage(line)).toEqual(expected);
  });

  it.each([
    ['not JSON', 'hello', 'bad_request'],
    ['truncated JSON', '{"type":"say","text":"hi"', 'bad_request'],
    ['empty line', '', 'bad_request'],
    ['JSON array', '[{"type":"who"}]', 'bad_request'],
    ['JSON string', '"who"', 'bad_request'],
    ['JSON number', '42', 'bad_request'],
    ['JSON null', 'null', 'bad_request'],
    ['no type', '{"text":"hi"}', 'bad_request'],
    ['type not a string', '{"type":5}', 'bad_request'],
    ['type null', '{"type":null}', 'bad_request'],
    ['hello without proto', '{"type":"hello"}', 'bad_request'],
    ['hello with string proto', '{"type":"hello","proto":"1"}', 'bad_request'],
    ['login without password', '{"type":"login","username":"shon"}', 'bad_request'],
    ['login without username', '{"type":"login","password":"x"}', 'bad_request'],
    ['login with numeric password', '{"type":"login","username":"shon","password":123}', 'bad_request'],
    ['say without text', '{"type":"say"}', 'bad_request'],
    ['say with numeric text', '{"type":"say","text":1}', 'bad_request'],
    ['say with numeric id', '{"type":"say","text":"hi","id":1}', 'bad_request'],
    ['say with too long id', `{"type":"say","text":"hi","id":"${'i'.repeat(MAX_MESSAGE_ID_LENGTH + 1)}"}`, 'bad_request'],
    ['unknown type', '{"type":"dance"}', 'unknown_type'],
    ['server-only type from a client', '{"type":"message","from":"x","text":"y"}', 'unknown_type'],
    ['type named like a prototype property', '{"type":"__proto__"}', 'unknown_type'],
    ['type "constructor"', '{"type":"constructor"}', 'unknown_type'],
    ['type in another case', '{"type":"WHO"}', 'unknown_type'],
  ])('%s -> %s', (_name, line, code) => {
    expect(codeOf(() => parseClientMessage(line))).toBe(code);
  });

  it('round-trips every client message through encodeClientMessage', () => {
    const messages: ClientMessage[] = [
      { type: 'hello', proto: 1, client: 'x' },
      { type: 'login', username: 'shon', password: 'p"w\\\n' },
      { type: 'say', text: 'line\nbreak שלום', id: 'a' },
      { type: 'who' },
      { type: 'pong' },
      { type: 'quit' },
    ];
    for (const message of messages) {
      const encoded = encodeClientMessage(message);
      expect(encoded.endsWith('\n')).toBe(true);
      expect(encoded.indexOf('\n')).toBe(encoded.length - 1);
      expect(parseClientMessage(encoded.slice(0, -1))).toEqual(message);
    }
  });
});

describe('parseServerMessage', () => {
  it.each<[string, ServerMessage]>([
    ['{"type":"hello","proto":1,"server":"chat-server/0.1.0","max_attempts":3,"max_line":4096}', { type: 'hello', proto: 1, server: 'chat-server/0.1.0', max_attempts: 3, max_line: 4096 }],
    ['{"type":"login_failed","reason":"invalid_credentials","attempts_left":2}', { type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 }],
    ['{"type":"message","from":"ron","text":"hi","ts":"2024-05-01T10:00:00.000Z"}', { type: 'message', from: 'ron', text: 'hi', ts: '2024-05-01T10:00:00.000Z' }],
    ['{"type":"ping"}', { type: 'ping' }],
    ['{"type":"bye","reason":"quit"}', { type: 'bye', reason: 'quit' }],
  ])('%s', (line, expected) => {
    expect(parseServerMessage(line)).toEqual(expected);
  });

  it.each([
    ['the text greeting', 'chat-server: log in to chat (3 attempts).'],
    ['a prompt', 'Username: '],
    ['broken JSON', '{"type":'],
    ['an array', '[1]'],
    ['no type', '{"x":1}'],
    ['an unknown type', '{"type":"future_thing"}'],
    ['a client-only type', '{"type":"say","text":"x"}'],
    ['leading space', ' {"type":"ping"}'],
  ])('ignores %s', (_name, line) => {
    expect(parseServerMessage(line)).toBeUndefined();
  });
});

describe('encodeJsonEvent', () => {
  it.each<[ServerEvent, string]>([
    [{ type: 'hello', proto: 1, server: 'chat-server/0.1.0', max_attempts: 3, max_line: 4096 }, '{"type":"hello","proto":1,"server":"chat-server/0.1.0","max_attempts":3,"max_line":4096}\n'],
    [{ type: 'login_ok', username: 'shon', users: ['ron'], help: 'h' }, '{"type":"login_ok","username":"shon","users":["ron"],"help":"h"}\n'],
    [{ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 0 }, '{"type":"login_failed","reason":"invalid_credentials","attempts_left":0}\n'],
    [{ type: 'message', from: 'ron', text: 'a\nb "q"', ts: '2024-05-01T10:00:00.000Z' }, '{"type":"message","from":"ron","text":"a\\nb \\"q\\"","ts":"2024-05-01T10:00:00.000Z"}\n'],
    [{ type: 'ack', id: 'm-1' }, '{"type":"ack","id":"m-1"}\n'],
    [{ type: 'join', user: 'ron' }, '{"type":"join","user":"ron"}\n'],
    [{ type: 'leave', user: 'ron', reason: 'disconnected' }, '{"type":"leave","user":"ron","reason":"disconnected"}\n'],
    [{ type: 'who', users: ['ron', 'shon'] }, '{"type":"who","users":["ron","shon"]}\n'],
    [{ type: 'ping' }, '{"type":"ping"}\n'],
    [{ type: 'error', code: 'rate_limited', message: 'm' }, '{"type":"error","code":"rate_limited","message":"m"}\n'],
    [{ type: 'bye', reason: 'too_many_attempts' }, '{"type":"bye","reason":"too_many_attempts"}\n'],
  ])('%j', (event, expected) => {
    expect(encodeJsonEvent(event)).toBe(expected);
  });

  it('text-only events have no JSON form', () => {
    expect(encodeJsonEvent({ type: 'greeting', max_attempts: 3 })).toBeUndefined();
    expect(encodeJsonEvent({ type: 'prompt', field: 'username' })).toBeUndefined();
    expect(encodeJsonEvent({ type: 'help' })).toBeUndefined();
  });

  it('a line separator inside text never breaks the frame', () => {
    const encoded = encodeJsonEvent({ type: 'message', from: 'r', text: 'a\u2028b\rc\nd', ts: 't' })!;
    expect(encoded.split('\n')).toHaveLength(2);
    expect(parseServerMessage(encoded.slice(0, -1))).toEqual({ type: 'message', from: 'r', text: 'a\u2028b\rc\nd', ts: 't' });
  });

  it('U+2028 and U+2029 are escaped, so no reader sees a line break', () => {
    const encoded = encodeJsonEvent({ type: 'message', from: 'r', text: 'a\u2028b\u2029c', ts: 't' })!;
    expect(encoded).toBe('{"type":"message","from":"r","text":"a\\u2028b\\u2029c","ts":"t"}\n');
    expect(encoded).not.toMatch(/[\u2028\u2029]/);
    expect(JSON.parse(encoded)).toMatchObject({ text: 'a\u2028b\u2029c' });
  });

  it.each([
    ['a lone high surrogate', 'x\ud800y', 'x\ufffdy'],
    ['a lone low surrogate', 'x\udfffy', 'x\ufffdy'],
    ['two lone surrogates in a row', '\ud800\udbff', '\ufffd\ufffd'],
    ['a lone surrogate next to a real pair', '\ud83d\ude00\ud83d', '😀\ufffd'],
  ])('%s goes out as U+FFFD', (_name, text, expected) => {
    const encoded = encodeJsonEvent({ type: 'message', from: 'r', text, ts: 't' })!;
    expect(encoded).not.toMatch(/\\ud[89a-f]/i);
    expect(Buffer.from(encoded, 'utf8').toString('utf8')).toBe(encoded);
    expect((JSON.parse(encoded) as { text: string }).text).toBe(expected);
  });

  it('text that only looks like a surrogate escape is kept as typed', () => {
    for (const text of ['\\ud800', '\\\\\\ud800', 'a\\\\ud83d']) {
      const encoded = encodeJsonEvent({ type: 'message', from: 'r', text, ts: 't' })!;
      expect((JSON.parse(encoded) as { text: string }).text).toBe(text);
    }
  });

  it('a client message is encoded the same way', () => {
    expect(encodeClientMessage({ type: 'say', text: 'a\ud800\u2028' })).toBe('{"type":"say","text":"a\\ufffd\\u2028"}\n');
  });
});
