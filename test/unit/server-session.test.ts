import { describe, expect, it } from 'vitest';
import { encodeJsonEvent } from '../../src/protocol/json-codec.js';
import { HELP_TEXT, type Bye, type ServerEvent } from '../../src/protocol/messages.js';
import { encodeTextEvent } from '../../src/protocol/text-codec.js';
import { IllegalTransitionError, Session, type SessionHost, type SessionOptions } from '../../src/server/session.js';

type Call =
  | { call: 'send'; event: ServerEvent }
  | { call: 'beginLogin'; username: string; password: string }
  | { call: 'beginResume'; token: string }
  | { call: 'enterRoom'; username: string }
  | { call: 'broadcast'; text: string }
  | { call: 'close'; bye: Bye | undefined };

/** Records every call in order; time is whatever the test sets. */
class FakeHost implements SessionHost {
  calls: Call[] = [];
  time = 1_000_000;
  online = ['ron', 'shon'];
  session!: Session;

  send(event: ServerEvent): void {
    this.calls.push({ call: 'send', event });
  }
  beginLogin(username: string, password: string): void {
    this.calls.push({ call: 'beginLogin', username, password });
  }
  beginResume(token: string): void {
    this.calls.push({ call: 'beginResume', token });
  }
  enterRoom(username: string): void {
    this.calls.push({ call: 'enterRoom', username });
  }
  broadcast(text: string): void {
    this.calls.push({ call: 'broadcast', text });
  }
  onlineUsers(): string[] {
    return [...this.online];
  }
  close(bye: Bye | undefined): void {
    this.calls.push({ call: 'close', bye });
  }
  now(): number {
    return this.time;
  }

  /** Calls recorded since the last take(). */
  take(): Call[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }

  /** What a text-mode client would read, for the calls since the last take(). */
  takeText(): string {
    return this.take()
      .map((c) => (c.call === 'send' ? (encodeTextEvent(c.event) ?? '') : c.call === 'close' && c.bye ? encodeTextEvent(c.bye)! : ''))
      .join('');
  }
}

const OPTIONS: SessionOptions = {
  serverName: 'chat-server/9.9.9',
  maxAttempts: 3,
  maxLineBytes: 4096,
  preLoginMaxLineBytes: 1024,
  rateBurst: 3,
  rateLimitPerSecond: 1,
};

function setup(options: Partial<SessionOptions> = {}): { host: FakeHost; session: Session } {
  const host = new FakeHost();
  const session = new Session(host, { ...OPTIONS, ...options });
  host.session = session;
  return { host, session };
}

const send = (event: ServerEvent): Call => ({ call: 'send', event });
const error = (code: string): unknown => ({ call: 'send', event: { type: 'error', code, message: expect.any(String) } });
const bye = (reason: Bye['reason']): Call => ({ call: 'close', bye: { type: 'bye', reason } });
const PROMPT_USERNAME = send({ type: 'prompt', field: 'username' });
const PROMPT_PASSWORD = send({ type: 'prompt', field: 'password' });
const GREETING = send({ type: 'greeting', max_attempts: 3 });
const HELLO_REPLY = send({ type: 'hello', proto: 1, server: 'chat-server/9.9.9', max_attempts: 3, max_line: 4096 });

function textLoggedIn(options: Partial<SessionOptions> = {}): { host: FakeHost; session: Session } {
  const { host, session } = setup(options);
  session.greetingDue();
  session.receiveLine('shon');
  session.receiveLine('secret');
  session.loginFinished({ ok: true, username: 'shon', others: ['ron'] });
  host.take();
  return { host, session };
}

function jsonLoggedIn(options: Partial<SessionOptions> = {}): { host: FakeHost; session: Session } {
  const { host, session } = setup(options);
  session.receiveLine('{"type":"hello","proto":1}');
  session.receiveLine('{"type":"login","username":"shon","password":"secret"}');
  session.loginFinished({ ok: true, username: 'shon', others: ['ron'] });
  host.take();
  return { host, session };
}

describe('Session, text mode: greeting and login', () => {
  it('greets after greetingDue, asks for username then password, logs in', () => {
    const { host, session } = setup();
    expect(session.state).toBe('new');
    expect(session.mode).toBe('undecided');

    session.greetingDue();
    expect(host.take()).toEqual([GREETING, PROMPT_USERNAME]);

    session.receiveLine('shon');
    expect(session.mode).toBe('text');
    expect(session.state).toBe('awaiting-login');
    expect(host.take()).toEqual([PROMPT_PASSWORD]);

    session.receiveLine('secret');
    expect(session.state).toBe('authenticating');
    expect(host.take()).toEqual([{ call: 'beginLogin', username: 'shon', password: 'secret' }]);

    session.loginFinished({ ok: true, username: 'Shon', others: ['ron', 'itay'] });
    expect(session.state).toBe('chatting');
    expect(session.username).toBe('Shon');
    expect(host.take()).toEqual([
      send({ type: 'login_ok', username: 'Shon', users: ['ron', 'itay'], help: HELP_TEXT }),
      { call: 'enterRoom', username: 'Shon' },
    ]);
  });

  it('a text client reads the exact transcript of PROTOCOL.md', () => {
    const { host, session } = setup();
    session.greetingDue();
    session.receiveLine('shon');
    session.receiveLine('secret');
    session.loginFinished({ ok: true, username: 'shon', others: ['ron', 'itay'] });
    expect(host.takeText()).toBe(
      'chat-server: log in to chat (3 attempts).\n' +
        'Username: ' +
        'Password: ' +
        '* Welcome, shon! Online now: ron, itay.\n' +
        '* Type a message and press Enter to send it to everyone else.\n' +
        '* Commands: c.who (who is online), c.msg <user> <text> (a private message), c.help (this help), c.exit (leave).\n',
    );
  });

  it('a first line before the greeting is the username: greeting, then Password:', () => {
    const { host, session } = setup();
    session.receiveLine('shon');
    expect(host.take()).toEqual([GREETING, PROMPT_PASSWORD]);
    session.greetingDue();
    expect(host.take()).toEqual([]);
    session.receiveLine('secret');
    expect(host.take()).toEqual([{ call: 'beginLogin', username: 'shon', password: 'secret' }]);
  });

  it('greets only once', () => {
    const { host, session } = setup();
    session.greetingDue();
    session.greetingDue();
    expect(host.take()).toEqual([GREETING, PROMPT_USERNAME]);
  });

  it.each(['', '   ', '\t'])('an empty username line %j asks again and costs nothing', (blank) => {
    const { host, session } = setup();
    session.greetingDue();
    host.take();
    session.receiveLine(blank);
    session.receiveLine(blank);
    expect(host.take()).toEqual([PROMPT_USERNAME, PROMPT_USERNAME]);
    expect(session.attemptsLeft).toBe(3);
    expect(session.state).toBe('awaiting-login');
  });

  it('an empty first line before the greeting gets the greeting and Username:', () => {
    const { host, session } = setup();
    session.receiveLine('');
    expect(host.take()).toEqual([GREETING, PROMPT_USERNAME]);
    expect(session.attemptsLeft).toBe(3);
  });

  it('trims the username but passes the password as typed', () => {
    const { host, session } = setup();
    session.receiveLine('  shon  ');
    session.receiveLine('  pass word  ');
    expect(host.take().at(-1)).toEqual({ call: 'beginLogin', username: 'shon', password: '  pass word  ' });
  });

  it('a failure is counted, reported and followed by Username: again', () => {
    const { host, session } = setup();
    session.greetingDue();
    session.receiveLine('shon');
    session.receiveLine('wrong');
    host.take();
    session.loginFinished({ ok: false, reason: 'invalid_credentials' });
    expect(session.state).toBe('awaiting-login');
    expect(session.attemptsLeft).toBe(2);
    expect(host.take()).toEqual([send({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 }), PROMPT_USERNAME]);
  });

  it('the last failure says goodbye and closes (exact text)', () => {
    const { host, session } = setup();
    session.greetingDue();
    host.take();
    for (let i = 0; i < 2; i++) {
      session.receiveLine('shon');
      session.receiveLine('wrong');
      session.loginFinished({ ok: false, reason: 'invalid_credentials' });
    }
    expect(host.takeText()).toBe(
      'Password: ! Login failed: invalid username or password. 2 attempt(s) left.\nUsername: ' +
        'Password: ! Login failed: invalid username or password. 1 attempt(s) left.\nUsername: ',
    );
    session.receiveLine('shon');
    session.receiveLine('wrong');
    host.take();
    session.loginFinished({ ok: false, reason: 'invalid_credentials' });
    expect(session.state).toBe('closed');
    expect(host.calls).toEqual([send({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 0 }), bye('too_many_attempts')]);
    expect(host.takeText()).toBe('! Too many failed attempts. Goodbye.\n');
  });

  it.each(['already_logged_in', 'disabled', 'bad_request'] as const)('%s costs an attempt', (reason) => {
    const { host, session } = setup();
    session.receiveLine('shon');
    session.receiveLine('pw');
    host.take();
    session.loginFinished({ ok: false, reason });
    expect(session.attemptsLeft).toBe(2);
    expect(host.take()).toEqual([send({ type: 'login_failed', reason, attempts_left: 2 }), PROMPT_USERNAME]);
  });

  it('server_busy costs no attempt, even repeatedly', () => {
    const { host, session } = setup();
    for (let i = 0; i < 5; i++) {
      session.receiveLine('shon');
      session.receiveLine('pw');
      host.take();
      session.loginFinished({ ok: false, reason: 'server_busy' });
      expect(host.take()).toEqual([send({ type: 'login_failed', reason: 'server_busy', attempts_left: 3 }), PROMPT_USERNAME]);
    }
    expect(session.attemptsLeft).toBe(3);
    expect(session.state).toBe('awaiting-login');
  });

  it('failures are counted per session, server_busy in between changes nothing', () => {
    const { host, session } = setup();
    const attempt = (reason: 'invalid_credentials' | 'server_busy'): void => {
      session.receiveLine('shon');
      session.receiveLine('pw');
      session.loginFinished({ ok: false, reason });
    };
    attempt('invalid_credentials');
    attempt('server_busy');
    attempt('invalid_credentials');
    expect(session.attemptsLeft).toBe(1);
    expect(session.state).toBe('awaiting-login');
    attempt('invalid_credentials');
    expect(session.state).toBe('closed');
    expect(host.calls.at(-1)).toEqual(bye('too_many_attempts'));

    const other = setup();
    expect(other.session.attemptsLeft).toBe(3);
  });

  it('honours maxAttempts from the options', () => {
    const { host, session } = setup({ maxAttempts: 1 });
    session.receiveLine('shon');
    session.receiveLine('pw');
    host.take();
    session.loginFinished({ ok: false, reason: 'invalid_credentials' });
    expect(host.take()).toEqual([send({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 0 }), bye('too_many_attempts')]);
  });

  it('c.exit at the username prompt says goodbye', () => {
    const { host, session } = setup();
    session.greetingDue();
    host.take();
    session.receiveLine('c.exit');
    expect(session.state).toBe('closed');
    expect(host.take()).toEqual([bye('quit')]);
  });

  it('the line limit is the pre-login one until login', () => {
    const { host, session } = setup();
    expect(session.maxLineBytes).toBe(1024);
    session.lineTooLong();
    expect(host.take()).toEqual([error('line_too_long')]);
    session.receiveLine('shon');
    session.receiveLine('pw');
    session.loginFinished({ ok: true, username: 'shon', others: [] });
    expect(session.maxLineBytes).toBe(4096);
    host.take();
    session.lineTooLong();
    expect(host.calls).toEqual([error('line_too_long')]);
    expect(host.takeText()).toBe('! Line too long (limit 4096 bytes).\n');
    expect(session.state).toBe('chatting');
  });
});

describe('Session, text mode: chatting', () => {
  it('a line is broadcast and never echoed to the sender', () => {
    const { host, session } = textLoggedIn();
    session.receiveLine('hello everyone');
    expect(host.take()).toEqual([{ call: 'broadcast', text: 'hello everyone' }]);
  });

  it.each([
    ['\x1b[31mred\x1b[0m', 'red'],
    ['שלום 👋', 'שלום 👋'],
    ['a\x07b\x00c', 'abc'],
    ['\x1b]0;pwned\x07hi', 'hi'],
    ['  spaced  ', '  spaced  '],
  ])('sanitises %j before broadcasting', (line, text) => {
    const { host, session } = textLoggedIn();
    session.receiveLine(line);
    expect(host.take()).toEqual([{ call: 'broadcast', text }]);
  });

  it.each(['', '   ', '\x1b[2J', '\x07\x00', '\u202e'])('does not broadcast %j, which is blank after sanitising', (line) => {
    const { host, session } = textLoggedIn();
    session.receiveLine(line);
    expect(host.take()).toEqual([]);
    expect(session.state).toBe('chatting');
  });

  it('c.who lists everyone online', () => {
    const { host, session } = textLoggedIn();
    host.online = ['ron', 'shon'];
    session.receiveLine('c.who');
    expect(host.calls).toEqual([send({ type: 'who', users: ['ron', 'shon'] })]);
    expect(host.takeText()).toBe('* Online now (2): ron, shon.\n');
  });

  it('c.help shows the help naming c.exit', () => {
    const { host, session } = textLoggedIn();
    session.receiveLine('c.help');
    expect(host.calls).toEqual([send({ type: 'help' })]);
    expect(host.takeText()).toContain('c.exit');
  });

  it('c.exit says goodbye and closes', () => {
    const { host, session } = textLoggedIn();
    session.receiveLine('c.exit');
    expect(session.state).toBe('closed');
    expect(host.calls).toEqual([bye('quit')]);
    expect(host.takeText()).toBe('* Goodbye.\n');
  });

  it('an unknown command is refused, nothing is broadcast, the session stays', () => {
    const { host, session } = textLoggedIn();
    session.receiveLine('c.foo');
    expect(host.calls).toEqual([error('bad_request')]);
    expect(host.takeText()).toBe('! Unknown command c.foo. Type c.help.\n');
    expect(session.state).toBe('chatting');
  });

  it('an unknown command with escapes in its name does not carry them back', () => {
    const { host, session } = textLoggedIn();
    session.receiveLine('c.\x1b[2Jfoo bar');
    expect(host.takeText()).toBe('! Unknown command c.foo. Type c.help.\n');
  });

  it('a line that merely mentions c.exit is a message', () => {
    const { host, session } = textLoggedIn();
    session.receiveLine('type c.exit to leave');
    expect(host.take()).toEqual([{ call: 'broadcast', text: 'type c.exit to leave' }]);
  });
});

describe('Session, JSON mode', () => {
  it('hello as the first line gets the hello reply and no greeting', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1,"client":"bot/1"}');
    expect(session.mode).toBe('json');
    expect(session.state).toBe('awaiting-login');
    expect(host.take()).toEqual([HELLO_REPLY]);
    session.greetingDue();
    expect(host.take()).toEqual([]);
  });

  it('hello after the text greeting was sent still switches to JSON', () => {
    const { host, session } = setup();
    session.greetingDue();
    session.receiveLine('{"type":"hello","proto":1}');
    expect(session.mode).toBe('json');
    expect(host.take()).toEqual([GREETING, PROMPT_USERNAME, HELLO_REPLY]);
  });

  it('a login calls beginLogin with the fields, login_ok then enterRoom', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    host.take();
    session.receiveLine('{"type":"login","username":"shon","password":"pw","extra":1}');
    expect(session.state).toBe('authenticating');
    expect(host.take()).toEqual([{ call: 'beginLogin', username: 'shon', password: 'pw' }]);
    session.loginFinished({ ok: true, username: 'shon', others: [] });
    expect(host.take()).toEqual([
      send({ type: 'login_ok', username: 'shon', users: [], help: HELP_TEXT }),
      { call: 'enterRoom', username: 'shon' },
    ]);
  });

  it('failures: login_failed with attempts left, no prompts; the last is followed by bye', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    host.take();
    const wire: string[] = [];
    for (let i = 0; i < 3; i++) {
      session.receiveLine('{"type":"login","username":"shon","password":"bad"}');
      session.loginFinished({ ok: false, reason: 'invalid_credentials' });
    }
    for (const c of host.calls) {
      if (c.call === 'send') wire.push(encodeJsonEvent(c.event) ?? '');
      if (c.call === 'close') wire.push(encodeJsonEvent(c.bye!)!);
    }
    expect(wire.join('')).toBe(
      '{"type":"login_failed","reason":"invalid_credentials","attempts_left":2}\n' +
        '{"type":"login_failed","reason":"invalid_credentials","attempts_left":1}\n' +
        '{"type":"login_failed","reason":"invalid_credentials","attempts_left":0}\n' +
        '{"type":"bye","reason":"too_many_attempts"}\n',
    );
    expect(host.calls.filter((c) => c.call === 'send' && c.event.type === 'prompt')).toEqual([]);
    expect(session.state).toBe('closed');
  });

  it.each([
    '{"type":"login","username":"shon"}',
    '{"type":"login","username":5,"password":"x"}',
    '{"type":"login","username":"shon","password":null}',
    '{"type": "login", "password": "x"}',
  ])('a malformed login %s is login_failed bad_request and costs an attempt', (line) => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    host.take();
    session.receiveLine(line);
    expect(host.take()).toEqual([send({ type: 'login_failed', reason: 'bad_request', attempts_left: 2 })]);
    expect(session.attemptsLeft).toBe(2);
    expect(session.state).toBe('awaiting-login');
  });

  it('three malformed logins end the session', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    host.take();
    for (let i = 0; i < 3; i++) session.receiveLine('{"type":"login"}');
    expect(host.take()).toEqual([
      send({ type: 'login_failed', reason: 'bad_request', attempts_left: 2 }),
      send({ type: 'login_failed', reason: 'bad_request', attempts_left: 1 }),
      send({ type: 'login_failed', reason: 'bad_request', attempts_left: 0 }),
      bye('too_many_attempts'),
    ]);
  });

  it.each(['{"type":"say","text":"hi"}', '{"type":"who"}'])('%s before login is not_logged_in and stays open', (line) => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    host.take();
    session.receiveLine(line);
    expect(host.take()).toEqual([error('not_logged_in')]);
    expect(session.state).toBe('awaiting-login');
  });

  it('a first JSON line that is not hello is a bad request', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"login","username":"shon","password":"pw"}');
    expect(host.take()).toEqual([error('bad_request')]);
    expect(session.mode).toBe('json');
    expect(session.state).toBe('new');
    session.receiveLine('{"type":"hello","proto":1}');
    expect(host.take()).toEqual([HELLO_REPLY]);
  });

  it.each(['{"type":"dance"}', '{"type":"message","from":"x","text":"y","ts":"t"}'])('unknown type %s gets unknown_type and stays open', (line) => {
    const before = setup();
    before.session.receiveLine('{"type":"hello","proto":1}');
    before.host.take();
    before.session.receiveLine(line);
    expect(before.host.take()).toEqual([error('unknown_type')]);
    expect(before.session.state).toBe('awaiting-login');

    const after = jsonLoggedIn();
    after.session.receiveLine(line);
    expect(after.host.take()).toEqual([error('unknown_type')]);
    expect(after.session.state).toBe('chatting');
  });

  it.each(['hello there', '[1,2]', '"str"', '{"type":"say","text":', '{"no_type":1}', ''])('non-object line %j in JSON mode is bad_request', (line) => {
    const { host, session } = jsonLoggedIn();
    session.receiveLine(line);
    expect(host.take()).toEqual([error('bad_request')]);
    expect(session.state).toBe('chatting');
  });

  it('say broadcasts sanitised text; with an id it is acked', () => {
    const { host, session } = jsonLoggedIn();
    session.receiveLine('{"type":"say","text":"\\u001b[31mhi\\u001b[0m there"}');
    session.receiveLine('{"type":"say","text":"שלום","id":"m-7"}');
    expect(host.take()).toEqual([
      { call: 'broadcast', text: 'hi there' },
      { call: 'broadcast', text: 'שלום' },
      send({ type: 'ack', id: 'm-7' }),
    ]);
  });

  it('a blank say is not broadcast, but its id is still acked', () => {
    const { host, session } = jsonLoggedIn();
    session.receiveLine('{"type":"say","text":"   "}');
    session.receiveLine('{"type":"say","text":"\\u0007\\u001b[2J","id":"x"}');
    expect(host.take()).toEqual([send({ type: 'ack', id: 'x' })]);
  });

  it('who, pong and quit', () => {
    const { host, session } = jsonLoggedIn();
    host.online = ['ron', 'shon'];
    session.receiveLine('{"type":"who"}');
    session.receiveLine('{"type":"pong"}');
    expect(host.take()).toEqual([send({ type: 'who', users: ['ron', 'shon'] })]);
    session.receiveLine('{"type":"quit"}');
    expect(host.take()).toEqual([bye('quit')]);
    expect(session.state).toBe('closed');
  });

  it('quit before login closes with bye quit', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    session.receiveLine('{"type":"quit"}');
    expect(host.take()).toEqual([HELLO_REPLY, bye('quit')]);
  });

  it.each(['{"type":"hello","proto":1}', '{"type":"login","username":"a","password":"b"}'])('%s after login is refused with bad_request', (line) => {
    const { host, session } = jsonLoggedIn();
    session.receiveLine(line);
    expect(host.take()).toEqual([error('bad_request')]);
    expect(session.state).toBe('chatting');
  });
});

describe('Session: rate limiting with an injected clock', () => {
  it('allows a burst, then refuses with rate_limited, recovering with time', () => {
    const { host, session } = jsonLoggedIn({ rateBurst: 3, rateLimitPerSecond: 1 });
    for (let i = 0; i < 3; i++) session.receiveLine(`{"type":"say","text":"m${i}"}`);
    expect(host.take()).toEqual([
      { call: 'broadcast', text: 'm0' },
      { call: 'broadcast', text: 'm1' },
      { call: 'broadcast', text: 'm2' },
    ]);
    session.receiveLine('{"type":"say","text":"m3","id":"x"}');
    expect(host.take()).toEqual([error('rate_limited')]);
    host.time += 999;
    session.receiveLine('{"type":"say","text":"m4"}');
    expect(host.take()).toEqual([error('rate_limited')]);
    host.time += 1;
    session.receiveLine('{"type":"say","text":"m5"}');
    expect(host.take()).toEqual([{ call: 'broadcast', text: 'm5' }]);
    expect(session.state).toBe('chatting');
  });

  it('text mode sees the exact refusal line', () => {
    const { host, session } = textLoggedIn({ rateBurst: 1, rateLimitPerSecond: 1 });
    session.receiveLine('one');
    session.receiveLine('two');
    expect(host.takeText()).toBe('! Slow down: rate limit reached.\n');
  });

  it('sustained flooding ends the session with bye flooding', () => {
    const { host, session } = textLoggedIn({ rateBurst: 3, rateLimitPerSecond: 1 });
    for (let i = 0; i < 3; i++) session.receiveLine(`m${i}`);
    expect(host.take().map((c) => c.call)).toEqual(['broadcast', 'broadcast', 'broadcast']);
    for (let i = 0; i < 6; i++) session.receiveLine('flood');
    expect(host.take()).toEqual(Array.from({ length: 6 }, () => error('rate_limited')));
    session.receiveLine('flood');
    expect(host.calls).toEqual([bye('flooding')]);
    expect(host.takeText()).toBe('! Disconnected for flooding. Goodbye.\n');
    expect(session.state).toBe('closed');
    session.receiveLine('more');
    expect(host.take()).toEqual([]);
  });

  it('every line spends a token: pong, who, unknown types, malformed and over-long lines alike', () => {
    const { host, session } = jsonLoggedIn({ rateBurst: 4, rateLimitPerSecond: 1 });
    session.receiveLine('{"type":"pong"}');
    session.receiveLine('{"type":"nope"}');
    session.receiveLine('not json');
    session.lineTooLong();
    expect(host.take()).toEqual([error('unknown_type'), error('bad_request'), error('line_too_long')]);
    session.receiveLine('{"type":"who"}');
    session.receiveLine('{"type":"pong"}');
    session.lineTooLong();
    expect(host.take()).toEqual([error('rate_limited'), error('rate_limited'), error('rate_limited')]);
  });

  it.each([
    ['pong', '{"type":"pong"}'],
    ['unknown types', '{"type":"nope"}'],
    ['who', '{"type":"who"}'],
  ])('a flood of %s ends in bye flooding, as a flood of messages does', (_, line) => {
    const { host, session } = jsonLoggedIn({ rateBurst: 3, rateLimitPerSecond: 1 });
    for (let i = 0; i < 20 && session.state !== 'closed'; i++) session.receiveLine(line);
    expect(host.calls.at(-1)).toEqual(bye('flooding'));
  });

  it('lines count at their arrival time, not when they are handled', () => {
    const { host, session } = jsonLoggedIn({ rateBurst: 1, rateLimitPerSecond: 1 });
    const arrived = host.time;
    // Handled late (after a stall), but they arrived a second apart: within the rate.
    host.time += 10_000;
    for (let i = 0; i < 5; i++) session.receiveLine(`{"type":"say","text":"m${i}"}`, arrived + i * 1000);
    expect(host.take().map((c) => c.call)).toEqual(['broadcast', 'broadcast', 'broadcast', 'broadcast', 'broadcast']);
  });

  it('before login a script may send hello and every attempt at once; a pre-login flood is cut off', () => {
    const { host, session } = setup({ rateBurst: 2, rateLimitPerSecond: 1 });
    session.receiveLine('{"type":"hello","proto":1}');
    for (let i = 0; i < 3; i++) {
      session.receiveLine('{"type":"login","username":"shon","password":"bad"}');
      if (i < 2) session.loginFinished({ ok: false, reason: 'invalid_credentials' });
    }
    expect(host.take().some((c) => c.call === 'send' && c.event.type === 'error')).toBe(false);
    const flood = setup({ rateBurst: 2, rateLimitPerSecond: 1 });
    for (let i = 0; i < 40 && flood.session.state !== 'closed'; i++) flood.session.receiveLine('{"type":"pong"}');
    expect(flood.host.calls.at(-1)).toEqual(bye('flooding'));
  });

  it('a rate of 0 means unlimited', () => {
    const { host, session } = jsonLoggedIn({ rateBurst: 1, rateLimitPerSecond: 0 });
    for (let i = 0; i < 500; i++) session.receiveLine('{"type":"say","text":"x"}');
    const calls = host.take();
    expect(calls).toHaveLength(500);
    expect(calls.every((c) => c.call === 'broadcast')).toBe(true);
  });

  it('the bucket starts full at login time', () => {
    const { host, session } = setup({ rateBurst: 2, rateLimitPerSecond: 1 });
    host.time = 0;
    session.receiveLine('{"type":"hello","proto":1}');
    session.receiveLine('{"type":"login","username":"shon","password":"pw"}');
    host.time = 60_000;
    session.loginFinished({ ok: true, username: 'shon', others: [] });
    host.take();
    for (let i = 0; i < 3; i++) session.receiveLine('{"type":"say","text":"x"}');
    expect(host.take()).toEqual([{ call: 'broadcast', text: 'x' }, { call: 'broadcast', text: 'x' }, error('rate_limited')]);
  });
});

describe('Session: states and ending', () => {
  it('IllegalTransitionError carries a stable code', () => {
    const e = new IllegalTransitionError('chatting', 'authenticating');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('IllegalTransitionError');
    expect(e.code).toBe('ILLEGAL_TRANSITION');
  });

  it('a line while authenticating throws: the connection must hold input', () => {
    const { host, session } = setup();
    session.receiveLine('shon');
    session.receiveLine('pw');
    host.take();
    expect(() => session.receiveLine('early')).toThrow();
    expect(session.state).toBe('authenticating');
    expect(host.take()).toEqual([]);
  });

  it('loginFinished outside authenticating is ignored', () => {
    const { host, session } = setup();
    session.loginFinished({ ok: true, username: 'shon', others: [] });
    expect(session.state).toBe('new');
    expect(host.take()).toEqual([]);
    const chatting = textLoggedIn();
    chatting.session.loginFinished({ ok: false, reason: 'invalid_credentials' });
    expect(chatting.session.state).toBe('chatting');
    expect(chatting.host.take()).toEqual([]);
  });

  it('a login that finishes after the session ended changes nothing', () => {
    const { host, session } = setup();
    session.receiveLine('shon');
    session.receiveLine('pw');
    host.take();
    session.end('login_timeout');
    expect(host.take()).toEqual([bye('login_timeout')]);
    session.loginFinished({ ok: true, username: 'shon', others: [] });
    expect(host.take()).toEqual([]);
    expect(session.state).toBe('closed');
  });

  it('end() is idempotent, with or without a message', () => {
    const { host, session } = textLoggedIn();
    session.end('kicked', 'spam');
    session.end('kicked', 'spam');
    session.end('shutdown');
    session.streamEnded();
    expect(host.take()).toEqual([{ call: 'close', bye: { type: 'bye', reason: 'kicked', message: 'spam' } }]);
  });

  it('streamEnded closes without a bye, once', () => {
    const { host, session } = textLoggedIn();
    session.streamEnded();
    session.streamEnded();
    session.end('quit');
    expect(host.take()).toEqual([{ call: 'close', bye: undefined }]);
    expect(session.state).toBe('closed');
  });

  it('nothing reaches the host after close', () => {
    const { host, session } = textLoggedIn();
    session.end('quit');
    host.take();
    session.receiveLine('hello');
    session.receiveLine('c.who');
    session.greetingDue();
    expect(host.take()).toEqual([]);
  });

  it('a session can end from every state before chatting', () => {
    const fresh = setup();
    fresh.session.end('shutdown');
    expect(fresh.session.state).toBe('closed');
    const waiting = setup();
    waiting.session.receiveLine('{"type":"hello","proto":1}');
    waiting.session.end('login_timeout');
    expect(waiting.session.state).toBe('closed');
    expect(waiting.host.calls.at(-1)).toEqual(bye('login_timeout'));
  });
});

describe('Session, JSON mode: resume (PROTOCOL.md additions)', () => {
  it('hands the token on, and a login_ok after it carries the new token', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    host.take();
    session.receiveLine('{"type":"resume","token":"abc"}');
    expect(session.state).toBe('authenticating');
    expect(host.take()).toEqual([{ call: 'beginResume', token: 'abc' }]);
    session.loginFinished({ ok: true, username: 'shon', others: ['ron'], resume: 'next' });
    expect(host.take()).toEqual([send({ type: 'login_ok', username: 'shon', users: ['ron'], help: HELP_TEXT, resume: 'next' }), { call: 'enterRoom', username: 'shon' }]);
  });

  it('resume_invalid costs no attempt; a second resume on one connection is refused unseen; a password login still works', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    session.receiveLine('{"type":"resume","token":"abc"}');
    session.loginFinished({ ok: false, reason: 'resume_invalid' });
    expect(session.attemptsLeft).toBe(3);
    host.take();
    session.receiveLine('{"type":"resume","token":"def"}');
    expect(host.take()).toEqual([send({ type: 'login_failed', reason: 'resume_invalid', attempts_left: 3 })]);
    session.receiveLine('{"type":"login","username":"shon","password":"pw"}');
    expect(host.take()).toEqual([{ call: 'beginLogin', username: 'shon', password: 'pw' }]);
  });

  it('a busy answer to a resume does not use up the connection\'s one resume', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"hello","proto":1}');
    session.receiveLine('{"type":"resume","token":"abc"}');
    session.loginFinished({ ok: false, reason: 'server_busy' });
    host.take();
    session.receiveLine('{"type":"resume","token":"abc"}');
    expect(host.take()).toEqual([{ call: 'beginResume', token: 'abc' }]);
    session.loginFinished({ ok: false, reason: 'resume_invalid' });
    host.take();
    session.receiveLine('{"type":"resume","token":"abc"}');
    expect(host.take()).toEqual([send({ type: 'login_failed', reason: 'resume_invalid', attempts_left: 3 })]);
  });

  it('a malformed resume is resume_invalid at no cost; resume is not allowed before hello or after login', () => {
    const { host, session } = setup();
    session.receiveLine('{"type":"resume","token":"abc"}');
    expect(host.take()).toEqual([error('bad_request')]);
    session.receiveLine('{"type":"hello","proto":1}');
    host.take();
    session.receiveLine('{"type":"resume","token":7}');
    expect(host.take()).toEqual([send({ type: 'login_failed', reason: 'resume_invalid', attempts_left: 3 })]);
    const logged = jsonLoggedIn();
    logged.session.receiveLine('{"type":"resume","token":"abc"}');
    expect(logged.host.take()).toEqual([error('bad_request')]);
  });
});
