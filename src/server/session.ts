import { ProtocolError } from '../protocol/errors.js';
import { parseClientMessage } from '../protocol/json-codec.js';
import type { Bye, ByeReason, ChatMessage, LoginFailReason, ServerEvent } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/limits.js';
import { HELP_TEXT } from '../protocol/messages.js';
import { isBlank, sanitizeShort, sanitizeText } from '../protocol/sanitize.js';
import { parseTextCommand } from '../protocol/text-commands.js';
import { commandRequest, type Request, type RequestType } from './commands.js';
import { FloodGuard } from './token-bucket.js';

export type SessionState = 'new' | 'awaiting-login' | 'authenticating' | 'chatting' | 'closed';
export type SessionMode = 'undecided' | 'text' | 'json';

const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  new: ['awaiting-login', 'closed'],
  'awaiting-login': ['authenticating', 'closed'],
  authenticating: ['awaiting-login', 'chatting', 'closed'],
  chatting: ['closed'],
  closed: [],
};

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  readonly code = 'ILLEGAL_TRANSITION';
  constructor(from: SessionState, to: SessionState) {
    super(`session cannot go from ${from} to ${to}`);
  }
}

export type LoginOutcome =
  /** `history`: the messages to replay, oldest first (undefined when history is off). */
  | { ok: true; username: string; others: string[]; resume?: string; history?: readonly ChatMessage[] }
  | { ok: false; reason: LoginFailReason; retryAfter?: number; message?: string };

/** What became of a direct message: handed to the recipient's session, or nobody of that name is online (or exists). */
export type DirectOutcome = 'delivered' | 'not_online';

/** What a session needs from the world; the connection provides it. */
export interface SessionHost {
  send(event: ServerEvent): void;
  /** Starts checking credentials; the answer comes back through `Session.loginFinished`. */
  beginLogin(username: string, password: string): void;
  /** Starts checking a resume token (JSON mode); the answer comes back through `Session.loginFinished`. */
  beginResume(token: string): void;
  /** Called right after login_ok was sent: join the room from here on. */
  enterRoom(username: string): void;
  broadcast(text: string): void;
  /** Hands a direct message (text already sanitised) to `to`'s session; `done` is called exactly once, in order with other replies. */
  sendDirect(to: string, text: string, done: (outcome: DirectOutcome) => void): void;
  /** Everyone online, the asker included. */
  onlineUsers(): string[];
  /** Ends the connection after sending `bye` (if given); no more calls follow. */
  close(bye: Bye | undefined): void;
  now(): number;
}

export interface SessionOptions {
  serverName: string;
  maxAttempts: number;
  maxLineBytes: number;
  preLoginMaxLineBytes: number;
  rateBurst: number;
  rateLimitPerSecond: number;
}

interface CommandSpec {
  /** States in which the request is allowed; elsewhere `refusal` answers. */
  states: readonly SessionState[];
  refusal: 'not_logged_in' | 'bad_request';
  run(session: Session, request: Request): void;
}

/**
 * The session state machine of one connection, for both modes: no sockets,
 * no timers, no database. Text lines and JSON objects become the same
 * requests, go through one command table, and produce the same events, which
 * each mode's codec renders.
 */
export class Session {
  #state: SessionState = 'new';
  #mode: SessionMode = 'undecided';
  #greeted = false;
  #pendingUsername: string | undefined;
  #failures = 0;
  #username: string | undefined;
  /** One resume per connection: a second is refused unseen (guessing tokens gets one try per connection). */
  #resumeTried = false;
  /** The login being checked is a resume. */
  #resuming = false;
  /** Every line counts, of any type: one budget for all of them (see #withinBudget). */
  #flood: FloodGuard;

  constructor(
    private readonly host: SessionHost,
    private readonly options: SessionOptions,
  ) {
    // Before login the burst also covers every attempt's two lines and a hello, sent at once by a script.
    this.#flood = new FloodGuard(options.rateBurst + 2 * options.maxAttempts + 1, options.rateLimitPerSecond, host.now());
  }

  get state(): SessionState {
    return this.#state;
  }

  get mode(): SessionMode {
    return this.#mode;
  }

  get username(): string | undefined {
    return this.#username;
  }

  /** The longest line the client may send now. */
  get maxLineBytes(): number {
    return this.#state === 'chatting' ? this.options.maxLineBytes : this.options.preLoginMaxLineBytes;
  }

  get attemptsLeft(): number {
    return this.options.maxAttempts - this.#failures;
  }

  /** 250 ms passed without a first line: greet as text mode (a JSON client may still say hello). */
  greetingDue(): void {
    if (this.#state !== 'new' || this.#mode !== 'undecided' || this.#greeted) return;
    this.#greet();
    this.host.send({ type: 'prompt', field: 'username' });
  }

  /** One line from the client; `at` is when it arrived (a line held during a login check counts at its arrival, not when handled). */
  receiveLine(line: string, at = this.host.now()): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'authenticating') throw new Error('a line arrived while authenticating; the connection must hold input');
    if (!this.#withinBudget(at)) return;
    if (this.#mode === 'undecided') {
      this.#mode = line.startsWith('{') ? 'json' : 'text';
      if (this.#mode === 'text' && !this.#greeted) this.#greet();
    }
    if (this.#mode === 'json') this.#receiveJson(line);
    else this.#receiveText(line);
  }

  lineTooLong(at = this.host.now()): void {
    if (this.#state === 'closed' || !this.#withinBudget(at)) return;
    this.#error('line_too_long', `Line too long (limit ${this.maxLineBytes} bytes).`);
  }

  loginFinished(outcome: LoginOutcome): void {
    if (this.#state !== 'authenticating') return;
    if (outcome.ok) {
      this.#resuming = false;
      this.#username = outcome.username;
      this.#flood = new FloodGuard(this.options.rateBurst, this.options.rateLimitPerSecond, this.host.now());
      this.#setState('chatting');
      this.host.send({ type: 'login_ok', username: outcome.username, users: outcome.others, help: HELP_TEXT, ...(outcome.resume === undefined ? {} : { resume: outcome.resume }) });
      // The replay and joining the room happen in one go: no live event can come between them.
      if (outcome.history !== undefined) this.host.send({ type: 'history', messages: outcome.history, now: this.host.now() });
      this.host.enterRoom(outcome.username);
      return;
    }
    // Neither a full queue nor a stale token says anything about a password.
    if (outcome.reason !== 'server_busy' && outcome.reason !== 'resume_invalid') this.#failures += 1;
    // A busy server did not look at the token: the one resume of this connection is not used up.
    if (outcome.reason === 'server_busy' && this.#resuming) this.#resumeTried = false;
    this.#resuming = false;
    this.#setState('awaiting-login');
    this.host.send({ type: 'login_failed', reason: outcome.reason, attempts_left: this.attemptsLeft, ...(outcome.retryAfter === undefined ? {} : { retry_after: outcome.retryAfter, message: outcome.message }) });
    if (this.attemptsLeft <= 0) {
      this.end('too_many_attempts');
      return;
    }
    if (this.#mode === 'text') this.host.send({ type: 'prompt', field: 'username' });
  }

  /** Ends the session from outside (timeouts, kicks, shutdown) or inside (quit). */
  end(reason: ByeReason, message?: string): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.host.close(message === undefined ? { type: 'bye', reason } : { type: 'bye', reason, message });
  }

  /** The peer went away: nothing can be sent any more. */
  streamEnded(): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.host.close(undefined);
  }

  #greet(): void {
    this.#greeted = true;
    this.host.send({ type: 'greeting', max_attempts: this.options.maxAttempts });
  }

  #receiveJson(line: string): void {
    let request: Request;
    try {
      request = parseClientMessage(line);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      // A login whose fields are malformed is a failed attempt, answered as one.
      if (this.#state === 'awaiting-login' && error.messageType === 'login') {
        this.#setState('authenticating');
        this.loginFinished({ ok: false, reason: 'bad_request' });
        return;
      }
      // A malformed resume is a token that cannot be good: refused like one, at no cost.
      if (this.#state === 'awaiting-login' && error.messageType === 'resume') {
        this.#resumeTried = true;
        this.#setState('authenticating');
        this.loginFinished({ ok: false, reason: 'resume_invalid' });
        return;
      }
      this.#error(error.code, error.message);
      return;
    }
    this.#dispatch(request);
  }

  #receiveText(line: string): void {
    if (this.#state === 'chatting') {
      const command = parseTextCommand(line);
      if (command === undefined) this.#dispatch({ type: 'say', text: line });
      else if (command.kind !== 'unknown') this.#dispatch(commandRequest(command));
      else this.#error('bad_request', `Unknown command ${sanitizeShort(command.name, 32)}. Type c.help.`);
      return;
    }
    // Logging in: a username line, then a password line.
    if (this.#pendingUsername === undefined) {
      const username = line.trim();
      if (parseTextCommand(username)?.kind === 'exit') {
        this.#dispatch({ type: 'quit' });
      } else if (username.length === 0) {
        this.host.send({ type: 'prompt', field: 'username' });
        if (this.#state === 'new') this.#setState('awaiting-login');
      } else {
        this.#pendingUsername = username;
        if (this.#state === 'new') this.#setState('awaiting-login');
        this.host.send({ type: 'prompt', field: 'password' });
      }
      return;
    }
    const username = this.#pendingUsername;
    this.#pendingUsername = undefined;
    this.#dispatch({ type: 'login', username, password: line });
  }

  #dispatch(request: Request): void {
    const spec = COMMANDS[request.type];
    if (!spec.states.includes(this.#state)) {
      if (this.#state === 'new') this.#error('bad_request', 'The first line must be a hello object.');
      else if (spec.refusal === 'not_logged_in') this.#error('not_logged_in', 'Log in first.');
      else this.#error('bad_request', `"${request.type}" is not allowed now.`);
      return;
    }
    spec.run(this, request);
  }

  /** Past the rate the line is dropped with `rate_limited`; far past it the client is cut off for flooding. */
  #withinBudget(at: number): boolean {
    const verdict = this.#flood.check(at);
    if (verdict === 'allow') return true;
    if (verdict === 'refuse') this.#error('rate_limited', 'Slow down: rate limit reached.');
    else this.end('flooding');
    return false;
  }

  #error(code: Extract<ServerEvent, { type: 'error' }>['code'], message: string): void {
    this.host.send({ type: 'error', code, message });
  }

  #setState(next: SessionState): void {
    if (!TRANSITIONS[this.#state].includes(next)) throw new IllegalTransitionError(this.#state, next);
    this.#state = next;
  }

  // ---- request handlers, reached only through the command table ----

  static #hello(session: Session): void {
    if (session.#state === 'new') session.#setState('awaiting-login');
    session.host.send({
      type: 'hello',
      proto: PROTOCOL_VERSION,
      server: session.options.serverName,
      max_attempts: session.options.maxAttempts,
      max_line: session.options.maxLineBytes,
    });
  }

  static #login(session: Session, request: Request): void {
    if (request.type !== 'login') return;
    session.#setState('authenticating');
    session.host.beginLogin(request.username, request.password);
  }

  static #resume(session: Session, request: Request): void {
    if (request.type !== 'resume') return;
    session.#setState('authenticating');
    if (session.#resumeTried) {
      session.loginFinished({ ok: false, reason: 'resume_invalid' });
      return;
    }
    session.#resumeTried = true;
    session.#resuming = true;
    session.host.beginResume(request.token);
  }

  static #say(session: Session, request: Request): void {
    if (request.type !== 'say') return;
    const text = sanitizeText(request.text);
    if (text.trim().length > 0) session.host.broadcast(text);
    // An id is acknowledged even for a line that had nothing left to send, so a client never waits forever.
    if (request.id !== undefined) session.host.send({ type: 'ack', id: request.id });
  }

  static #dm(session: Session, request: Request): void {
    if (request.type !== 'dm') return;
    const text = sanitizeText(request.text);
    if (request.to === '' || isBlank(text)) {
      session.#error('bad_request', session.#mode === 'text' ? 'Usage: c.msg <user> <text>' : 'A direct message needs "to" and a "text" that is not empty.');
      return;
    }
    if (request.to.toLowerCase() === session.#username!.toLowerCase()) {
      session.#error('bad_request', 'You cannot send a private message to yourself.');
      return;
    }
    const to = sanitizeShort(request.to, 32);
    const id = request.id;
    // The same answer for a name nobody has and for a user who is not logged in.
    session.host.sendDirect(request.to, text, (outcome) => {
      if (session.#state === 'closed') return;
      if (outcome === 'not_online') session.#error('not_online', `${to} is not online.`);
      else if (id !== undefined) session.host.send({ type: 'ack', id });
    });
  }

  static #who(session: Session): void {
    session.host.send({ type: 'who', users: session.host.onlineUsers() });
  }

  static #help(session: Session): void {
    session.host.send({ type: 'help' });
  }

  static #quit(session: Session): void {
    session.end('quit');
  }

  static readonly commands: Readonly<Record<RequestType, CommandSpec>> = {
    hello: { states: ['new', 'awaiting-login'], refusal: 'bad_request', run: (s) => Session.#hello(s) },
    login: { states: ['awaiting-login'], refusal: 'bad_request', run: (s, r) => Session.#login(s, r) },
    resume: { states: ['awaiting-login'], refusal: 'bad_request', run: (s, r) => Session.#resume(s, r) },
    say: { states: ['chatting'], refusal: 'not_logged_in', run: (s, r) => Session.#say(s, r) },
    dm: { states: ['chatting'], refusal: 'not_logged_in', run: (s, r) => Session.#dm(s, r) },
    who: { states: ['chatting'], refusal: 'not_logged_in', run: (s) => Session.#who(s) },
    help: { states: ['chatting'], refusal: 'not_logged_in', run: (s) => Session.#help(s) },
    pong: { states: ['new', 'awaiting-login', 'chatting'], refusal: 'bad_request', run: () => undefined },
    quit: { states: ['new', 'awaiting-login', 'chatting'], refusal: 'bad_request', run: (s) => Session.#quit(s) },
  };
}

const COMMANDS = Session.commands;
