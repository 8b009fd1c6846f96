import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { encodeJsonEvent } from '../protocol/json-codec.js';
import { GREETING_DELAY_MS } from '../protocol/limits.js';
import { LineSplitter, type SplitEvent } from '../protocol/line-splitter.js';
import type { Bye, ChatMessage, ServerEvent } from '../protocol/messages.js';
import { encodeTextEvent } from '../protocol/text-codec.js';
import type { ServerConfig } from './config.js';
import type { DirectMessages } from './direct-messages.js';
import type { History } from './history.js';
import type { LoginService, LoginVerdict } from './login-service.js';
import type { Logger } from './log.js';
import { Outbox, type FlushScheduler } from './outbox.js';
import type { EndReason, Presence, Seat } from './presence.js';
import type { Room, RoomMember } from './room.js';
import { Session, type DirectOutcome, type SessionHost, type SessionOptions } from './session.js';
import { dropNegotiationListener, type OpenedTransport, type TransportKind } from './transport.js';

/** What a connection needs from its server. */
export interface ConnectionContext {
  readonly config: ServerConfig;
  /** Chat messages go here; joins, leaves and who is online go through presence. */
  readonly room: Room;
  readonly presence: Presence;
  readonly logins: LoginService;
  /** Room messages said here are recorded; a login's replay comes from here. */
  readonly history: History;
  readonly directs: DirectMessages;
  readonly scheduler: FlushScheduler;
  readonly logger: Logger;
  readonly serverName: string;
  now(): number;
  /** A new message id (PROTOCOL.md "Message ids"). */
  nextMessageId(): string;
  /** The connection logged in: it no longer counts as pre-login. */
  loggedIn(connection: Connection): void;
  /** The socket is gone; forget the connection. */
  closed(connection: Connection): void;
}

/** Bytes of input accepted before login, in all, as a multiple of the pre-login line limit. */
const PRE_LOGIN_BUDGET_LINES = 8;
/** After `end()`, how long a peer gets to read its goodbye before the socket is destroyed. */
const CLOSE_LINGER_MS = 2000;

/** One options object per server, shared by every connection's Session. */
const SESSION_OPTIONS = new WeakMap<ConnectionContext, SessionOptions>();

function sessionOptions(ctx: ConnectionContext): SessionOptions {
  let options = SESSION_OPTIONS.get(ctx);
  if (options === undefined) {
    const { config } = ctx;
    options = Object.freeze({
      serverName: ctx.serverName,
      maxAttempts: config.maxAttempts,
      maxLineBytes: config.maxLineBytes,
      preLoginMaxLineBytes: Math.min(config.preLoginMaxLineBytes, config.maxLineBytes),
      rateBurst: config.rateBurst,
      rateLimitPerSecond: config.rateLimitPerSecond,
    });
    SESSION_OPTIONS.set(ctx, options);
  }
  return options;
}

/**
 * Glue between one socket and one Session: bytes in through the LineSplitter,
 * events out through the mode's codec and the Outbox, and the connection's
 * timers (greeting, login; the heartbeat is one server-wide tick calling
 * `heartbeat()`). The chat rules are the Session's;
 * presence is the Seat's, which the connection holds from login on. The
 * rules kept here are about the transport: the pre-login byte budget, the
 * heartbeat's missed pings, and ending only after every received line.
 */
export class Connection implements SessionHost, RoomMember {
  readonly id = randomUUID();
  readonly peerAddress: string;
  readonly #peerPort: number;
  readonly transport: TransportKind;
  readonly session: Session;
  readonly connectedAt: number;
  /** Set by each line after login; the server flushes it to the store in batches. */
  activeSinceFlush = false;

  readonly #splitter: LineSplitter;
  readonly outbox: Outbox;
  /** Lines that arrived while a login was being checked: handled, in order, after it. */
  #held: Array<{ event: SplitEvent; at: number }> | undefined;
  #preLoginBytes = 0;
  #greetingTimer: NodeJS.Timeout | undefined;
  #loginTimer: NodeJS.Timeout | undefined;
  #heardSinceTick = true;
  #missedPings = 0;
  /** From a successful login on: this user's presence. */
  #seat: Seat | undefined;
  /** Counts login attempts, so that a verdict for an attempt already answered otherwise is recognised. */
  #attempt = 0;
  #closed = false;
  /** A direct message to another instance waits for its receipt: input is held meanwhile, as during a login check. */
  #awaitingDirect = false;
  /** The client sent its end of stream (a half-close, as `nc -N` does): finish what it sent, then end. */
  #inputEnded = false;
  /** The last thing sent was a prompt, which ends without a newline. */
  #promptOpen = false;
  /** Set when another instance's resume took this session over and wrote its end. */
  #endWritten = false;

  /** The stream the protocol runs on (the socket, or TLS over it). */
  private readonly socket: Duplex;
  /** The TCP socket underneath. */
  readonly #tcp: Socket;

  constructor(
    opened: OpenedTransport,
    private readonly ctx: ConnectionContext,
  ) {
    const { config } = ctx;
    this.socket = opened.stream;
    this.#tcp = opened.socket;
    this.peerAddress = opened.peerAddress;
    this.#peerPort = opened.peerPort;
    this.transport = opened.transport;
    const socket = this.socket;
    this.connectedAt = ctx.now();
    this.session = new Session(this, sessionOptions(ctx));
    this.#splitter = new LineSplitter(this.session.maxLineBytes);
    this.outbox = new Outbox(socket, ctx.scheduler, config.sendQueueBytes, this, ctx.now);

    this.#tcp.setNoDelay(true);
    if (config.keepAliveMs > 0) this.#tcp.setKeepAlive(true, config.keepAliveMs);
    Connection.#owners.set(socket, this);
    socket.on('data', Connection.#onData);
    socket.on('end', Connection.#onEnd);
    socket.on('error', Connection.#onError);
    socket.on('close', Connection.#onClose);
    // Ours is attached: the transport's stand-in error listener is no longer needed.
    if (socket === this.#tcp) dropNegotiationListener(this.#tcp);
    // The transport may have paused the socket while it looked at the first bytes.
    socket.resume();
    this.#greetingTimer = setTimeout(Connection.#onGreetingDue, Math.max(0, GREETING_DELAY_MS - opened.silentMs), this);
    if (config.loginTimeoutMs > 0) this.#loginTimer = setTimeout(Connection.#onLoginTimeout, config.loginTimeoutMs, this);
  }

  /** `address:port`, for logs (made when needed: idle connections do not keep it). */
  get peer(): string {
    return `${this.peerAddress}:${this.#peerPort}`;
  }

  get username(): string {
    return this.session.username ?? '';
  }

  get mode(): 'text' | 'json' {
    return this.session.mode === 'json' ? 'json' : 'text';
  }

  /** Logged in (it holds a seat). */
  get loggedIn(): boolean {
    return this.#seat !== undefined;
  }

  get pendingOutputBytes(): number {
    return this.outbox.pendingBytes;
  }

  /** True when pending output has made no progress for the write timeout. */
  get writeStalled(): boolean {
    return this.ctx.config.writeTimeoutMs > 0 && this.outbox.stalled(this.ctx.config.writeTimeoutMs);
  }

  // ---- SessionHost ----

  send(event: ServerEvent): void {
    let text = this.session.mode === 'json' ? encodeJsonEvent(event) : encodeTextEvent(event);
    if (text === undefined) return;
    // A JSON client that spoke after the text prompt was sent must see its replies start a line.
    if (this.#promptOpen && this.session.mode === 'json') text = `\n${text}`;
    this.#promptOpen = event.type === 'prompt';
    this.outbox.push(Buffer.from(text, 'utf8'));
  }

  beginLogin(username: string, password: string): void {
    this.#authenticate(() => this.ctx.logins.attempt({ username, password, peerAddress: this.peerAddress, mode: this.mode, sessionId: this.id }));
  }

  beginResume(token: string): void {
    this.#authenticate(() => this.ctx.logins.resume({ token, peerAddress: this.peerAddress, sessionId: this.id }));
  }

  /** A resume took this session over: `bye` `replaced`; `endWritten` when another instance already released the row and audited the end. */
  endReplaced(endWritten: boolean): void {
    this.#endWritten = endWritten;
    this.session.end('replaced');
  }

  #authenticate(check: () => Promise<LoginVerdict>): void {
    // One line at a time: no input is read while the password (or token) is checked.
    this.socket.pause();
    const attempt = ++this.#attempt;
    const current = (): boolean => !this.#closed && this.session.state === 'authenticating' && attempt === this.#attempt;
    check()
      .then(async (verdict) => {
        // The replay's store read runs while the seat is claimed but not in the room yet.
        const replay = verdict.ok && current() ? await this.ctx.history.prepare() : undefined;
        if (!current()) {
          // Nobody is waiting for this login any more: its seat is given back at once.
          if (verdict.ok) verdict.seat.leave('disconnected');
          return;
        }
        if (verdict.ok) {
          this.#seat = verdict.seat;
          // Across instances the list may still name this user on an instance not yet known to be gone.
          const others = this.ctx.presence.usernames().filter((user) => user !== verdict.username);
          // The replay is built here, in the same turn as joining the room: every message is either in it or live.
          this.session.loginFinished({ ok: true, username: verdict.username, others, history: replay?.(), ...(verdict.resume === undefined ? {} : { resume: verdict.resume }) });
        } else {
          this.session.loginFinished(verdict);
        }
      })
      .catch((error: unknown) => {
        this.ctx.logger.error('login_error', { peer: this.peer, error: error instanceof Error ? error.message : String(error) });
        if (current()) this.session.loginFinished({ ok: false, reason: 'server_busy' });
      })
      .finally(() => {
        if (this.#closed || attempt !== this.#attempt) return;
        this.socket.resume();
        this.#drainHeld();
      });
  }

  enterRoom(username: string): void {
    this.#clearTimer('login');
    this.#splitter.setMaxLineBytes(this.session.maxLineBytes);
    this.ctx.loggedIn(this);
    this.#seat!.enter(this);
    this.ctx.logger.info('login', { user: username, peer: this.peer, mode: this.mode, transport: this.transport, session: this.id });
    const { idleTimeoutMs } = this.ctx.config;
    if (this.mode === 'text' && idleTimeoutMs > 0) {
      this.#tcp.setTimeout(idleTimeoutMs);
      Connection.#owners.set(this.#tcp, this);
      this.#tcp.on('timeout', Connection.#onIdle);
    }
  }

  broadcast(text: string): void {
    const message: ChatMessage = { type: 'message', from: this.username, text, ts: new Date(this.ctx.now()).toISOString(), id: this.ctx.nextMessageId() };
    this.ctx.room.publish(message, this);
    this.ctx.history.record(message);
  }

  sendDirect(to: string, text: string, done: (outcome: DirectOutcome) => void): void {
    let answered = false;
    this.ctx.directs.send(to, { type: 'dm', from: this.username, text, ts: new Date(this.ctx.now()).toISOString(), id: this.ctx.nextMessageId() }, (outcome) => {
      answered = true;
      done(outcome);
      if (!this.#awaitingDirect) return;
      this.#awaitingDirect = false;
      if (this.#closed) return;
      this.socket.resume();
      this.#drainHeld();
    });
    // A recipient on another instance answers later: further lines wait, so every reply still comes in the order of the lines.
    if (!answered) {
      this.#awaitingDirect = true;
      this.socket.pause();
    }
  }

  onlineUsers(): string[] {
    return this.ctx.presence.usernames();
  }

  now(): number {
    return this.ctx.now();
  }

  close(bye: Bye | undefined): void {
    if (this.#closed) return;
    if (bye !== undefined) {
      if (this.outbox.overflowed) {
        // A slow consumer's queue is full: try the goodbye directly, it may never be read.
        const line = this.session.mode === 'json' ? encodeJsonEvent(bye) : encodeTextEvent(bye);
        if (line !== undefined && !this.socket.destroyed) this.socket.write(line);
      } else {
        this.send(bye);
        this.outbox.flush();
      }
    } else if (!this.outbox.overflowed) {
      // The peer may have only half-closed: it still reads what was said before the end.
      this.outbox.flush();
    }
    this.#finish(bye?.reason ?? 'disconnected', bye?.message);
    if (!this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.destroy(), CLOSE_LINGER_MS).unref();
    }
  }

  /** Cuts the socket without a goodbye (after close() had its chance). */
  destroy(): void {
    this.socket.destroy();
    this.#tcp.destroy();
  }

  // ---- socket and timer listeners ----
  // Shared functions, not per-connection closures: thousands of idle connections
  // each carrying eight bound listeners would cost about half a kilobyte apiece.

  static readonly #owners = new WeakMap<Duplex, Connection>();
  static #onData(this: Duplex, chunk: Buffer): void {
    const connection = Connection.#owners.get(this);
    if (connection !== undefined) connection.#receive(chunk);
  }
  static #onEnd(this: Duplex): void {
    const connection = Connection.#owners.get(this);
    if (connection !== undefined) connection.#endOfInput();
  }
  static #onError(this: Duplex, error: NodeJS.ErrnoException): void {
    const connection = Connection.#owners.get(this);
    if (connection !== undefined) connection.#failed(error);
  }
  static #onClose(this: Duplex): void {
    const connection = Connection.#owners.get(this);
    if (connection === undefined) return;
    connection.session.streamEnded();
    connection.ctx.closed(connection);
  }
  static #onGreetingDue(connection: Connection): void {
    connection.#greetingTimer = undefined;
    connection.session.greetingDue();
  }
  static #onLoginTimeout(connection: Connection): void {
    connection.#loginTimer = undefined;
    if (connection.session.state !== 'chatting') connection.session.end('login_timeout');
  }
  static #onIdle(this: Duplex): void {
    Connection.#owners.get(this)?.session.end('timeout');
  }

  #receive(chunk: Buffer): void {
    // After the goodbye, what a client still sends (a flooder's next chunks) is dropped unread.
    if (this.#closed) return;
    this.#heardSinceTick = true;
    this.#missedPings = 0;
    if (this.session.state !== 'chatting') {
      this.#preLoginBytes += chunk.length;
      if (this.#preLoginBytes > PRE_LOGIN_BUDGET_LINES * this.ctx.config.preLoginMaxLineBytes) {
        this.session.end('too_much_input');
        return;
      }
    }
    // Flood accounting uses arrival time: lines held during a login check, or delayed by a busy turn, are not a burst.
    const at = this.ctx.now();
    // Stops splitting at the line that closed the connection: the rest of a flooder's chunk is never decoded.
    this.#splitter.each(chunk, (event) => {
      if (this.#waiting || this.#held !== undefined) (this.#held ??= []).push({ event, at });
      else this.#handle(event, at);
      return !this.#closed;
    });
  }

  /** Every line received before the end is handled first, also those held while a login is checked. */
  #endOfInput(): void {
    this.#inputEnded = true;
    if (this.#waiting || this.#held !== undefined) return;
    this.session.streamEnded();
  }

  #failed(error: NodeJS.ErrnoException): void {
    if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') this.ctx.logger.error('socket_error', { peer: this.peer, code: error.code, error: error.message });
    this.session.streamEnded();
  }

  /**
   * The server's heartbeat tick, every `--heartbeat` (one timer for all
   * connections). JSON mode, logged in: a ping after an interval of silence;
   * a fourth silent interval ends it. Others ignore it.
   */
  heartbeat(): void {
    if (this.#seat === undefined || this.#closed || this.session.mode !== 'json') return;
    if (this.#heardSinceTick) {
      this.#heardSinceTick = false;
      return;
    }
    if (this.#missedPings >= 3) {
      this.session.end('timeout');
      return;
    }
    this.#missedPings += 1;
    this.send({ type: 'ping' });
  }

  /** The outbox passed its limit: a slow consumer. */
  outboxOverflowed(): void {
    this.ctx.logger.info('slow_consumer', { user: this.session.username, peer: this.peer, queued: this.outbox.pendingBytes });
    this.session.end('slow_consumer');
  }

  #handle(event: SplitEvent, at: number): void {
    if (this.#greetingTimer !== undefined) this.#clearTimer('greeting');
    if (event.kind === 'too_long') {
      this.session.lineTooLong(at);
      return;
    }
    if (this.#seat !== undefined) this.activeSinceFlush = true;
    this.session.receiveLine(event.line, at);
  }

  /** Input waits: a login is being checked, or a direct message's receipt. */
  get #waiting(): boolean {
    return this.session.state === 'authenticating' || this.#awaitingDirect;
  }

  #drainHeld(): void {
    while (this.#held !== undefined && !this.#closed && !this.#waiting) {
      const { event, at } = this.#held.shift()!;
      // Empty: nothing is held any more (and the array goes).
      if (this.#held.length === 0) this.#held = undefined;
      this.#handle(event, at);
    }
    if (this.session.state === 'chatting') this.#splitter.setMaxLineBytes(this.session.maxLineBytes);
    if (this.#inputEnded && !this.#waiting) this.session.streamEnded();
  }

  #clearTimer(which: 'greeting' | 'login'): void {
    if (which === 'greeting') {
      clearTimeout(this.#greetingTimer);
      this.#greetingTimer = undefined;
    } else {
      clearTimeout(this.#loginTimer);
      this.#loginTimer = undefined;
    }
  }

  /** Runs once, however the connection ends. */
  #finish(reason: EndReason, detail: string | undefined): void {
    this.#closed = true;
    this.#held = undefined;
    this.#clearTimer('greeting');
    this.#clearTimer('login');
    if (this.#seat !== undefined) {
      this.#seat.leave(reason, detail, this.#endWritten);
      this.ctx.logger.info('logout', { user: this.username, peer: this.peer, reason, session: this.id });
    } else {
      this.ctx.logger.info('disconnect', { peer: this.peer, reason });
    }
  }
}
