import { describe, expect, it } from 'vitest';
import { formatClock, nameColor, NAME_PALETTE, renderHelp, renderOwn, renderServerMessage, type RenderContext } from '../../src/client/render.js';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { describeForeignReply } from '../../src/client/chat-client.js';

// A fixed local time, so HH:MM does not depend on the machine's time zone.
const now = new Date(2025, 0, 2, 9, 5, 0);
const plain: RenderContext = { color: false, now };
const colored: RenderContext = { color: true, now };
const texts = (message: ServerMessage, context = plain) => renderServerMessage(message, context).map((l) => l.text);

describe('render', () => {
  it('formats local HH:MM', () => {
    expect(formatClock(new Date(2025, 5, 1, 0, 0))).toBe('00:00');
    expect(formatClock(new Date(2025, 5, 1, 23, 59))).toBe('23:59');
  });

  it('shows a message at its own time in local HH:MM', () => {
    const ts = new Date(2025, 0, 2, 14, 30).toISOString();
    expect(texts({ type: 'message', from: 'ron', text: 'hi', ts })).toEqual(['14:30 ron: hi']);
    expect(texts({ type: 'message', from: 'ron', text: 'hi', ts: 'garbage' })).toEqual(['09:05 ron: hi']);
  });

  it('renders presence, who, errors and goodbyes like the text mode', () => {
    expect(texts({ type: 'join', user: 'ron' })).toEqual(['09:05 * ron has joined the chat.']);
    expect(texts({ type: 'leave', user: 'ron', reason: 'kicked' })).toEqual(['09:05 * ron left the chat (kicked).']);
    expect(texts({ type: 'who', users: ['a', 'b'] })).toEqual(['09:05 * Online now (2): a, b.']);
    expect(texts({ type: 'error', code: 'rate_limited', message: 'Slow down: rate limit reached.' })).toEqual(['09:05 ! Slow down: rate limit reached.']);
    expect(texts({ type: 'bye', reason: 'kicked', message: 'be nice' })).toEqual(['09:05 ! You were kicked by an administrator: be nice. Goodbye.']);
    expect(texts({ type: 'bye', reason: 'shutdown' })).toEqual(['09:05 * The server is shutting down. Goodbye.']);
    expect(texts({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 })).toEqual([
      '09:05 ! Login failed: invalid username or password. 2 attempt(s) left.',
    ]);
  });

  it('follows a refusal no password can fix with the advice text mode gives, derived from the reason', () => {
    expect(texts({ type: 'login_failed', reason: 'disabled', attempts_left: 2 })).toEqual([
      '09:05 ! Login failed: account disabled. 2 attempt(s) left.',
      '09:05 * This account is disabled: ask an administrator to enable it again.',
    ]);
    expect(texts({ type: 'login_failed', reason: 'already_logged_in', attempts_left: 1 })).toEqual([
      '09:05 ! Login failed: already logged in. 1 attempt(s) left.',
      '09:05 * This user is already logged in elsewhere: log out there first (c.exit), or ask an administrator to end that session.',
    ]);
    // The last attempt: the goodbye follows, the advice is still worth saying.
    expect(texts({ type: 'login_failed', reason: 'disabled', attempts_left: 0 })).toEqual(['09:05 * This account is disabled: ask an administrator to enable it again.']);
  });

  it('shows why an address is locked when the server says so, cleaned', () => {
    expect(texts({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2, retry_after: 42, message: 'too many failed logins from your address, try again in 42 s\x1b[2J' })).toEqual([
      '09:05 ! Too many failed logins from your address, try again in 42 s.',
      '09:05 ! Login failed: invalid username or password. 2 attempt(s) left.',
    ]);
  });

  it('survives values a newer server might send', () => {
    const odd = (m: object) => texts(m as ServerMessage);
    expect(odd({ type: 'bye', reason: 'moved_away' })).toEqual(['09:05 ! Disconnected by the server (moved_away). Goodbye.']);
    expect(odd({ type: 'leave', user: 'ron', reason: 'teleported' })).toEqual(['09:05 * ron left the chat.']);
    expect(odd({ type: 'login_failed', reason: 'mystery', attempts_left: 1 })).toEqual(['09:05 ! Login failed (mystery). 1 attempt(s) left.']);
    expect(odd({ type: 'ack', id: '1', extra: true })).toEqual([]);
    expect(odd({ type: 'ping' })).toEqual([]);
  });

  it('sanitises everything from the server', () => {
    const [line] = texts({ type: 'message', from: 'r\x1b[31mon', text: 'a\x1b]0;pwned\x07b\x07c\u202e', ts: now.toISOString() });
    expect(line).toBe('09:05 ron: abc');
    expect(texts({ type: 'join', user: 'x\ny' })).toEqual(['09:05 * xy has joined the chat.']);
    expect(texts({ type: 'bye', reason: 'kicked', message: '\x1b[2Jgone' })).toEqual(['09:05 ! You were kicked by an administrator: gone. Goodbye.']);
  });

  it('colours names stably by a hash, case-insensitively, and styles notices and errors', () => {
    expect(nameColor('Shon')).toBe(nameColor('shon'));
    expect(NAME_PALETTE).toContain(nameColor('ron'));
    const names = ['ron', 'itay', 'shon', 'dana', 'noa', 'avi', 'tal', 'gil'];
    expect(new Set(names.map(nameColor)).size).toBeGreaterThan(2);
    const [message] = texts({ type: 'message', from: 'ron', text: 'hi', ts: now.toISOString() }, colored);
    expect(message).toBe(`\x1b[2m09:05\x1b[0m \x1b[1m${nameColor('ron')}ron\x1b[0m: hi`);
    const [error] = texts({ type: 'error', code: 'bad_request', message: 'no' }, colored);
    expect(error).toBe('\x1b[2m09:05\x1b[0m \x1b[1;31m! no\x1b[0m');
    const [notice] = texts({ type: 'join', user: 'ron' }, colored);
    expect(notice).toBe('\x1b[2m09:05\x1b[0m \x1b[36m* ron has joined the chat.\x1b[0m');
  });

  it('renders login_ok with the server help, one notice per line', () => {
    const ok = { type: 'login_ok', username: 'shon', users: [], help: 'Type a message.\nCommands: c.who, c.help, c.exit.\n' } as const;
    expect(texts({ ...ok, users: [] })).toEqual([
      '09:05 * Welcome, shon! Online now: nobody else.',
      '09:05 * Type a message.',
      '09:05 * Commands: c.who, c.help, c.exit.',
    ]);
    expect(renderHelp('one\n\x1b[31mtwo', plain).map((l) => l.text)).toEqual(['09:05 * one', '09:05 * two']);
  });
});

describe('renderOwn: a line we typed says whether the server took it', () => {
  const ctx = { color: false, now: new Date(2026, 0, 1, 9, 5) };
  it.each([
    [{ kind: 'sent' } as const, '09:05 shon: hi', 'chat'],
    [{ kind: 'pending' } as const, '09:05 shon: hi (sending...)', 'chat'],
    [{ kind: 'refused', reason: 'Slow down: rate limit reached.' } as const, '09:05 shon: hi [not sent: Slow down: rate limit reached.]', 'error'],
    [{ kind: 'unconfirmed' } as const, '09:05 shon: hi [not confirmed: the connection ended before the server acknowledged it]', 'error'],
  ])('%j', (status, text, kind) => {
    expect(renderOwn('shon', 'hi', status, ctx)).toEqual({ text, kind });
  });
});

describe('describeForeignReply', () => {
  it('shows the first line, sanitised and cut, or says it is binary', () => {
    expect(describeForeignReply(Buffer.from('SSH-2.0-OpenSSH_9.6\r\nmore'))).toBe('`SSH-2.0-OpenSSH_9.6`');
    expect(describeForeignReply(Buffer.from(`a\x1b[2J${'b'.repeat(80)}`))).toBe(`\`a${'b'.repeat(59)}...\``);
    expect(describeForeignReply(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]))).toBe('7 bytes of binary data');
  });
});
