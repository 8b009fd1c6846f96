import { describe, expect, it } from 'vitest';
import { encodeJsonEvent, parseClientMessage } from '../../src/protocol/json-codec.js';
import { encodeTextEvent, historyTime } from '../../src/protocol/text-codec.js';
import { parseTextCommand } from '../../src/protocol/text-commands.js';

const now = Date.UTC(2026, 11, 1, 15, 0);
const msg = (id: string, ts: string) => ({ type: 'message' as const, from: 'shon', text: 'hi', ts, id });

describe('protocol: history replay and direct messages', () => {
  it('JSON: each replayed message with history true, then history_end with the count (also 0)', () => {
    const a = msg('a', '2026-12-01T10:00:00.000Z');
    expect(encodeJsonEvent({ type: 'history', messages: [a], now })).toBe(`${JSON.stringify({ ...a, history: true })}\n{"type":"history_end","count":1}\n`);
    expect(encodeJsonEvent({ type: 'history', messages: [], now })).toBe('{"type":"history_end","count":0}\n');
  });

  it('text: the block only when there is at least one; HH:MM today (UTC), the date before', () => {
    expect(encodeTextEvent({ type: 'history', messages: [], now })).toBeUndefined();
    expect(encodeTextEvent({ type: 'history', messages: [msg('a', '2026-11-30T23:59:00.000Z'), msg('b', '2026-12-01T00:00:00.000Z')], now })).toBe(
      '* Recent messages:\n[2026-11-30 23:59] shon: hi\n[00:00] shon: hi\n* End of recent messages.\n',
    );
    expect(historyTime('2026-12-01T14:59:59.999Z', now)).toBe('14:59');
    expect(encodeTextEvent({ type: 'dm', from: 'ron', text: 'psst', ts: '2026-12-01T10:00:00.000Z', id: 'x' })).toBe('[private] ron: psst\n');
    expect(encodeTextEvent({ type: 'history_end', count: 3 })).toBeUndefined();
  });

  it('parses dm (to, text, optional id) and refuses one without to, or with a bad id', () => {
    expect(parseClientMessage('{"type":"dm","to":"ron","text":"hi","id":"7"}')).toEqual({ type: 'dm', to: 'ron', text: 'hi', id: '7' });
    expect(parseClientMessage('{"type":"dm","to":"ron","text":"hi"}')).toEqual({ type: 'dm', to: 'ron', text: 'hi' });
    expect(() => parseClientMessage('{"type":"dm","text":"hi"}')).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(() => parseClientMessage('{"type":"dm","to":"","text":"hi"}')).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(() => parseClientMessage('{"type":"dm","to":"ron","text":"hi","id":5}')).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });

  it('c.msg: the name, then everything after it as typed; missing parts are empty', () => {
    expect(parseTextCommand('c.msg ron hello  there')).toEqual({ kind: 'msg', to: 'ron', text: 'hello  there' });
    expect(parseTextCommand('c.MSG ron')).toEqual({ kind: 'msg', to: 'ron', text: '' });
    expect(parseTextCommand('c.msg')).toEqual({ kind: 'msg', to: '', text: '' });
    expect(parseTextCommand('c.msgx ron')).toEqual({ kind: 'unknown', name: 'c.msgx' });
  });
});
