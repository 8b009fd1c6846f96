import { describe, expect, it } from 'vitest';
import { HELP_LINES, HELP_TEXT, type ServerEvent } from '../../src/protocol/messages.js';
import { encodeTextEvent, listOrNobody } from '../../src/protocol/text-codec.js';

const HELP_BLOCK = '* Type a message and press Enter to send it to everyone else.\n* Commands: c.who (who is online), c.msg <user> <text> (a private message), c.help (this help), c.exit (leave).\n';

describe('encodeTextEvent: exact wording of PROTOCOL.md', () => {
  it.each<[string, ServerEvent, string]>([
    ['greeting', { type: 'greeting', max_attempts: 3 }, 'chat-server: log in to chat (3 attempts).\n'],
    ['username prompt has no newline', { type: 'prompt', field: 'username' }, 'Username: '],
    ['password prompt has no newline', { type: 'prompt', field: 'password' }, 'Password: '],
    [
      'welcome block',
      { type: 'login_ok', username: 'shon', users: ['ron', 'itay'], help: HELP_TEXT },
      `* Welcome, shon! Online now: ron, itay.\n${HELP_BLOCK}`,
    ],
    ['welcome when alone', { type: 'login_ok', username: 'shon', users: [], help: HELP_TEXT }, `* Welcome, shon! Online now: nobody else.\n${HELP_BLOCK}`],
    [
      'invalid credentials',
      { type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 },
      '! Login failed: invalid username or password. 2 attempt(s) left.\n',
    ],
    ['already logged in', { type: 'login_failed', reason: 'already_logged_in', attempts_left: 1 }, '! Login failed: already logged in. 1 attempt(s) left.\n* This user is already logged in elsewhere: log out there first (c.exit), or ask an administrator to end that session.\n'],
    ['account disabled', { type: 'login_failed', reason: 'disabled', attempts_left: 1 }, '! Login failed: account disabled. 1 attempt(s) left.\n* This account is disabled: ask an administrator to enable it again.\n'],
    ['too many attempts', { type: 'bye', reason: 'too_many_attempts' }, '! Too many failed attempts. Goodbye.\n'],
    ['message', { type: 'message', from: 'ron', text: 'hi there', ts: '2024-05-01T10:00:00.000Z' }, 'ron: hi there\n'],
    ['Hebrew message', { type: 'message', from: 'ron', text: 'שלום 👋', ts: '2024-05-01T10:00:00.000Z' }, 'ron: שלום 👋\n'],
    ['join', { type: 'join', user: 'ron' }, '* ron has joined the chat.\n'],
    ['leave (quit)', { type: 'leave', user: 'ron', reason: 'quit' }, '* ron left the chat.\n'],
    ['line too long', { type: 'error', code: 'line_too_long', message: 'Line too long (limit 4096 bytes).' }, '! Line too long (limit 4096 bytes).\n'],
    ['unknown command', { type: 'error', code: 'bad_request', message: 'Unknown command c.foo. Type c.help.' }, '! Unknown command c.foo. Type c.help.\n'],
    ['rate limited', { type: 'error', code: 'rate_limited', message: 'Slow down: rate limit reached.' }, '! Slow down: rate limit reached.\n'],
    ['c.exit goodbye', { type: 'bye', reason: 'quit' }, '* Goodbye.\n'],
    ['help', { type: 'help' }, HELP_BLOCK],
  ])('%s', (_name, event, expected) => {
    expect(encodeTextEvent(event)).toBe(expected);
  });

  it('the last login failure renders nothing: the goodbye line follows', () => {
    expect(encodeTextEvent({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 0 })).toBeUndefined();
    // An address lock's explanation is shown on its own line, also with the last attempt.
    const locked = { type: 'login_failed', reason: 'invalid_credentials', retry_after: 42, message: 'too many failed logins from your address, try again in 42 s' } as const;
    expect(encodeTextEvent({ ...locked, attempts_left: 2 })).toBe('! Too many failed logins from your address, try again in 42 s.\n! Login failed: invalid username or password. 2 attempt(s) left.\n');
    expect(encodeTextEvent({ ...locked, attempts_left: 0 })).toBe('! Too many failed logins from your address, try again in 42 s.\n');
  });

  it.each<[ServerEvent, string]>([
    [{ type: 'leave', user: 'ron', reason: 'disconnected' }, '* ron left the chat (connection lost).\n'],
    [{ type: 'leave', user: 'ron', reason: 'timeout' }, '* ron left the chat (timed out).\n'],
    [{ type: 'leave', user: 'ron', reason: 'kicked' }, '* ron left the chat (kicked).\n'],
    [{ type: 'leave', user: 'ron', reason: 'removed' }, '* ron left the chat (account removed).\n'],
    [{ type: 'who', users: ['ron', 'shon'] }, '* Online now (2): ron, shon.\n'],
    [{ type: 'bye', reason: 'kicked', message: 'spam' }, '! You were kicked by an administrator: spam. Goodbye.\n'],
    [{ type: 'bye', reason: 'login_timeout' }, '! Login timed out. Goodbye.\n'],
    [{ type: 'bye', reason: 'flooding' }, '! Disconnected for flooding. Goodbye.\n'],
    [{ type: 'bye', reason: 'shutdown' }, '* The server is shutting down. Goodbye.\n'],
    [{ type: 'login_failed', reason: 'server_busy', attempts_left: 3 }, '! Login failed: server busy, please try again. 3 attempt(s) left.\n'],
  ])('notices and errors: %j', (event, expected) => {
    expect(encodeTextEvent(event)).toBe(expected);
  });

  it.each<ServerEvent>([
    { type: 'hello', proto: 1, server: 's', max_attempts: 3, max_line: 4096 },
    { type: 'ack', id: 'x' },
    { type: 'ping' },
  ])('%j has no text form', (event) => {
    expect(encodeTextEvent(event)).toBeUndefined();
  });

  it('every line of every rendered event ends in a newline, except prompts', () => {
    const events: ServerEvent[] = [
      { type: 'greeting', max_attempts: 3 },
      { type: 'login_ok', username: 'a', users: [], help: HELP_TEXT },
      { type: 'help' },
      { type: 'join', user: 'a' },
      { type: 'bye', reason: 'removed' },
    ];
    for (const event of events) expect(encodeTextEvent(event)!.endsWith('\n')).toBe(true);
  });

  it('the help names c.exit', () => {
    expect(HELP_LINES.some((l) => l.includes('c.exit'))).toBe(true);
  });
});

describe('listOrNobody', () => {
  it.each([
    [[], 'nobody else'],
    [['ron'], 'ron'],
    [['ron', 'itay'], 'ron, itay'],
  ])('%j -> %s', (users, expected) => {
    expect(listOrNobody(users)).toBe(expected);
  });
});
