import type { Readable, Writable } from 'node:stream';
import readline from 'node:readline';
import { parseTextCommand } from '../protocol/text-commands.js';
import type { ErrorReply, LoginFailed, LoginOk, ServerMessage } from '../protocol/messages.js';
import { isBlank, sanitizeText } from '../protocol/sanitize.js';
import { isValidUsername, USERNAME_RULE } from '../protocol/usernames.js';
import { formatAddress } from './address.js';
import { ChatClient, ConnectError, SessionEndedError, type SessionEnd } from './chat-client.js';
import { EXIT_OK, EXIT_SESSION, EXIT_USAGE, type ClientOptions } from './options.js';
import { completeUsername, OnlineUsers } from './complete.js';
import { ReplyQueue } from './reply-queue.js';
import { parseSlashMsg, renderConnectionLost, renderHelp, renderHistoryHeader, renderLocal, renderOwn, renderOwnPrivate, renderServerMessage, type DisplayLine, type OwnLineStatus, type RenderContext } from './render.js';
import { Terminal, type TerminalInput, type TerminalOutput } from './terminal.js';
import { CaFileError, tlsConnectOptions } from './tls-trust.js';

/** The process edge, handed in by main so everything here runs on plain streams. */
export interface ClientIo {
  readonly stdin: TerminalInput;
  readonly stdout: TerminalOutput;
  readonly stderr: Writable;
  readonly now: () => Date;
  /** Called once the session is running: main routes SIGINT/SIGTERM here. */
  onLeaveRequest?(leave: () => void): void;
}

export interface Timing {
  /** Wait for `bye` after `quit` before closing ourselves. */
  readonly quitTimeoutMs: number;
  /** Wait for the `ack` of a piped line. */
  readonly ackTimeoutMs: number;
  /** Wait for a login reply. */
  readonly loginTimeoutMs: number;
  /** Delays before resending a rate-limited piped line; one retry per entry. */
  readonly rateLimitRetryMs: readonly number[];
  /** First pause before reconnecting after a lost connection; it doubles up to `reconnectMaxMs`, each with ±50% jitter. */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
}

export const DEFAULT_TIMING: Timing = Object.freeze({
  quitTimeoutMs: 2000,
  ackTimeoutMs: 30_000,
  loginTimeoutMs: 30_000,
  rateLimitRetryMs: Object.freeze([1000, 2000, 4000, 8000]),
  reconnectMinMs: 250,
  reconnectMaxMs: 10_000,
});

/** Waits for a reconnect: `base` ±50%, so a thousand clients dropped at once do not come back in one burst. */
export function reconnectDelay(base: number, random: () => number = Math.random): number {
  return Math.round(base * (0.5 + random()));
}

/**
 * Whether a session that ended so is worth getting back by itself: a
 * connection lost without a goodbye, or a server that is shutting down (a
 * restart, or an instance taken out of a cluster). Never after leaving on
 * purpose, a kick, a removal or disable, being replaced by a resume
 * elsewhere, or any other goodbye.
 */
export function shouldReconnect(end: SessionEnd): boolean {
  return end.bye === undefined || end.bye.reason === 'shutdown';
}

/** Lines waiting for their ack shown above the input at most; older ones still wait, unshown. */
const MAX_PENDING_SHOWN = 5;
/** Room message ids remembered to skip a reconnect's replay of what was shown already. */
const MAX_SHOWN_IDS = 2000;

function unknownCommand(name: string): string {
  return `Unknown command ${sanitizeText(name)}. Type c.help.`;
}

function context(io: ClientIo, color: boolean): RenderContext {
  return { color, now: io.now() };
}

function writeLines(stream: Writable, lines: readonly DisplayLine[]): void {
  if (lines.length > 0) stream.write(lines.map((l) => `${l.text}\n`).join(''));
}

/** Connects and runs the session the options ask for; resolves with the exit status. */
export async function runClient(options: ClientOptions, io: ClientIo, version: string, timing: Timing = DEFAULT_TIMING): Promise<number> {
  let client: ChatClient;
  try {
    const tls = options.tls === undefined ? undefined : tlsConnectOptions(options.address, options.tls, { stderr: io.stderr, confirm: options.interactive ? (q) => confirm(io, q) : undefined });
    const connect = () => ChatClient.connect(options.address, { timeoutMs: options.connectTimeoutMs, clientName: `chat-client/${version}`, ...(tls === undefined ? {} : { tls }) });
    try {
      client = await connect();
    } catch (error) {
      // A server that serves TLS and plain text on one port decides by the first byte within 250 ms;
      // on a slow path the ClientHello can arrive later and be taken for plain text. Once more is enough.
      if (!(error instanceof ConnectError) || error.code !== 'tls') throw error;
      client = await connect();
    }
  } catch (error) {
    if (error instanceof CaFileError) {
      io.stderr.write(`chat-client: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (!(error instanceof ConnectError)) throw error;
    io.stderr.write(`chat-client: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const reconnect = async (): Promise<ChatClient> => {
    const tls = options.tls === undefined ? undefined : tlsConnectOptions(options.address, options.tls, { stderr: io.stderr, confirm: undefined });
    return ChatClient.connect(options.address, { timeoutMs: options.connectTimeoutMs, clientName: `chat-client/${version}`, ...(tls === undefined ? {} : { tls }) });
  };
  try {
    return options.interactive ? await runInteractive(client, options, io, timing, reconnect) : await runPiped(client, options, io, timing);
  } finally {
    client.destroy();
  }
}

/** A yes/no question on the terminal; Ctrl-D, or three answers that are neither, mean no. */
async function confirm(io: ClientIo, question: string): Promise<boolean> {
  const term = new Terminal(io.stdin, io.stdout);
  for (let tries = 0; tries < 3; tries += 1) {
    const answer = await term.ask(question);
    if (answer === null) return false;
    const word = answer.trim().toLowerCase();
    if (word === 'yes' || word === 'y') return true;
    if (word === 'no' || word === 'n') return false;
    io.stdout.write('Please answer yes or no.\n');
  }
  return false;
}

function endLines(end: SessionEnd, ctx: RenderContext): DisplayLine[] {
  return end.bye === undefined ? [renderConnectionLost(ctx)] : renderServerMessage(end.bye, ctx);
}

async function waitForEnd(client: ChatClient, timeoutMs: number): Promise<SessionEnd> {
  const end = client.sessionEnd;
  if (end !== undefined) return end;
  return new Promise((resolve) => {
    const timer = setTimeout(() => client.destroy(), timeoutMs);
    client.once('end', (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}

type LoginOutcome = { readonly ok: LoginOk; readonly username: string; readonly password: string } | { readonly exitCode: number };

/** A login reply, or how the session ended while waiting for it. */
async function attemptLogin(client: ChatClient, username: string, password: string, timing: Timing): Promise<LoginOk | LoginFailed | SessionEnd> {
  return settleLogin(client.login(username, password, timing.loginTimeoutMs));
}

async function settleLogin(reply: Promise<LoginOk | LoginFailed>): Promise<LoginOk | LoginFailed | SessionEnd> {
  try {
    return await reply;
  } catch (error) {
    if (error instanceof SessionEndedError) return error.end;
    throw error;
  }
}

type Regained = { readonly kind: 'ok'; readonly ok: LoginOk } | { readonly kind: 'retry' } | { readonly kind: 'refused'; readonly reply: LoginFailed };

/**
 * Gets the session back on a new connection: `resume` with the token first
 * (no password, no bcrypt run on the server); the password the client already
 * holds only if the token is refused. A busy server or a connection lost
 * again means try later; any other refusal is final.
 */
async function regain(client: ChatClient, token: string | undefined, username: string, password: string, timing: Timing): Promise<Regained & { tokenRefused: boolean }> {
  let tokenRefused = false;
  if (token !== undefined) {
    const reply = await settleLogin(client.resume(token, timing.loginTimeoutMs));
    if (!('type' in reply)) return { kind: 'retry', tokenRefused };
    if (reply.type === 'login_ok') return { kind: 'ok', ok: reply, tokenRefused };
    if (reply.reason !== 'resume_invalid') return { kind: 'retry', tokenRefused };
    tokenRefused = true;
  }
  const reply = await attemptLogin(client, username, password, timing);
  if (!('type' in reply)) return { kind: 'retry', tokenRefused };
  if (reply.type === 'login_ok') return { kind: 'ok', ok: reply, tokenRefused };
  if (reply.reason === 'server_busy') return { kind: 'retry', tokenRefused };
  return { kind: 'refused', reply, tokenRefused };
}

/**
 * Asks and tries until a login is accepted. `stop` aborts a question when the
 * user asked to leave (a signal) or the server ended the session meanwhile.
 */
async function loginInteractive(client: ChatClient, options: ClientOptions, io: ClientIo, term: Terminal, stop: AbortSignal, timing: Timing): Promise<LoginOutcome> {
  const ctx = (): RenderContext => context(io, options.color);
  const show = (lines: readonly DisplayLine[]): void => term.print(lines.map((l) => l.text));
  const ended = (): LoginOutcome => {
    show(endLines(client.sessionEnd!, ctx()));
    return { exitCode: EXIT_SESSION };
  };
  let username = options.user;
  for (;;) {
    if (username === undefined) {
      const answer = await term.ask('Username: ', stop);
      if (client.sessionEnd !== undefined && !stop.reason) return ended();
      if (answer === null) return { exitCode: EXIT_OK };
      const name = answer.trim();
      if (name === '') continue;
      if (!isValidUsername(name)) {
        show([renderLocal('error', `A username is ${USERNAME_RULE}.`, ctx())]);
        continue;
      }
      username = name;
    }
    let password: string;
    if (options.password.kind === 'env') {
      password = options.password.value;
    } else {
      const answer = await term.askHidden('Password: ', stop);
      if (client.sessionEnd !== undefined && !stop.reason) return ended();
      if (answer === null) return { exitCode: EXIT_OK };
      password = answer;
    }
    const reply = await attemptLogin(client, username, password, timing);
    if (!('type' in reply)) return ended();
    if (reply.type === 'login_ok') return { ok: reply, username, password };
    show(renderServerMessage(reply, ctx()));
    if (reply.attempts_left <= 0) {
      await waitForEnd(client, timing.quitTimeoutMs);
      return ended();
    }
    // A password that cannot be typed again is not asked for again.
    if (options.password.kind !== 'prompt') return { exitCode: EXIT_SESSION };
    // With --user only the password is asked again.
    if (options.user === undefined) username = undefined;
  }
}

async function runInteractive(first: ChatClient, options: ClientOptions, io: ClientIo, timing: Timing, connect: () => Promise<ChatClient>): Promise<number> {
  const term = new Terminal(io.stdin, io.stdout);
  const ctx = (): RenderContext => context(io, options.color);
  const show = (lines: readonly DisplayLine[]): void => term.print(lines.map((l) => l.text));
  const server = first.serverHello?.server;
  show([renderLocal('notice', `Connected to ${formatAddress(options.address)}${typeof server === 'string' ? ` (${sanitizeText(server)})` : ''}.`, ctx())]);

  // Before the chat starts, a leave request or the end of the session cancels the question being asked.
  const stopLogin = new AbortController();
  let leave = (): void => stopLogin.abort('leave');
  io.onLeaveRequest?.(() => leave());
  const onEndDuringLogin = (): void => stopLogin.abort();
  first.once('end', onEndDuringLogin);
  const login = await loginInteractive(first, options, io, term, stopLogin.signal, timing);
  first.off('end', onEndDuringLogin);
  if ('exitCode' in login) {
    if (first.sessionEnd === undefined) await first.quit(timing.quitTimeoutMs);
    return login.exitCode;
  }
  const me = sanitizeText(login.ok.username);
  const help = typeof login.ok.help === 'string' ? login.ok.help : '';
  let client = first;
  let token = typeof login.ok.resume === 'string' ? login.ok.resume : undefined;

  try {
    return await new Promise<number>((resolve) => {
      let leaving = false;
      /** Set while the connection is lost and being got back. */
      let reconnecting = false;
      let wakeReconnect: (() => void) | undefined;
      const replies = new ReplyQueue();
      // Our lines waiting for the server's ack, kept just above the input line; never shown as sent before the ack.
      const own = (say: { text: string; to?: string }, status: OwnLineStatus): DisplayLine => (say.to === undefined ? renderOwn(me, say.text, status, ctx()) : renderOwnPrivate(me, say.to, say.text, status, ctx()));
      const showPending = (): void => term.setStatus(replies.pendingSays.slice(-MAX_PENDING_SHOWN).map((say) => own(say, { kind: 'pending' }).text));
      /** Ids of the room messages shown, so that a reconnect's replay does not show them again (bounded). */
      const shown = new Set<string>();
      let replaying = false;
      const online = new OnlineUsers();
      const track = (message: ServerMessage): void => {
        if (message.type === 'login_ok' || message.type === 'who') online.reset(Array.isArray(message.users) ? message.users.map((u) => sanitizeText(String(u))) : []);
        else if (message.type === 'join') online.joined(sanitizeText(String(message.user)));
        else if (message.type === 'leave') online.left(sanitizeText(String(message.user)));
      };
      track(login.ok);
      const finish = (lines: readonly DisplayLine[], code: number): void => {
        term.stopChat();
        show(lines);
        resolve(code);
      };
      leave = (): void => {
        if (leaving) return;
        leaving = true;
        if (reconnecting) {
          wakeReconnect?.();
          return;
        }
        term.stopChat();
        void client.quit(timing.quitTimeoutMs);
      };
      const onMessage = (message: ServerMessage): void => {
        if (message.type === 'bye') return; // shown at the end
        track(message);
        const settled = replies.settle(message);
        if (settled?.request.kind === 'say') {
          if (settled.request.to !== undefined && settled.outcome === 'refused' && settled.code === 'not_online') {
            // One line, as the server's text mode says it.
            show([renderLocal('error', settled.reason, ctx())]);
          } else {
            show([own(settled.request, settled.outcome === 'done' ? { kind: 'sent' } : { kind: 'refused', reason: settled.reason })]);
          }
          showPending();
          return;
        }
        if (message.type === 'message' && typeof message.id === 'string') {
          if (shown.has(message.id)) return;
          if (shown.size >= MAX_SHOWN_IDS) shown.delete(shown.values().next().value!);
          shown.add(message.id);
        }
        // Replayed messages come first, under a dim header; history_end draws the line to live chat.
        if (message.type === 'message' && message.history === true && !replaying) {
          replaying = true;
          show([renderHistoryHeader(ctx())]);
        }
        if (message.type === 'history_end') {
          if (!replaying) return;
          replaying = false;
        }
        show(renderServerMessage(message, ctx()));
      };
      const attach = (current: ChatClient): void => {
        current.on('message', onMessage);
        current.once('end', (end) => {
          current.off('message', onMessage);
          // The ack of these may have been lost with the connection: say so, never "sent".
          show(replies.drainSays().map((say) => own(say, { kind: 'unconfirmed' })));
          showPending();
          if (!leaving && shouldReconnect(end)) {
            if (end.bye !== undefined) show(renderServerMessage(end.bye, ctx()));
            void getBack();
            return;
          }
          const onPurpose = leaving && (end.bye === undefined || end.bye.reason === 'quit');
          finish(endLines(end, ctx()), onPurpose ? EXIT_OK : EXIT_SESSION);
        });
      };
      const pause = (ms: number): Promise<void> =>
        new Promise((done) => {
          const timer = setTimeout(done, ms);
          wakeReconnect = () => {
            clearTimeout(timer);
            done();
          };
        });
      /** Backoff with jitter until the session is back (the typed line stays as it is meanwhile), or the user leaves, or a login is refused. */
      const getBack = async (): Promise<void> => {
        reconnecting = true;
        let base = timing.reconnectMinMs;
        for (;;) {
          const wait = reconnectDelay(base);
          base = Math.min(base * 2, timing.reconnectMaxMs);
          show([renderLocal('notice', `Connection lost; reconnecting in ${(wait / 1000).toFixed(1)} s...`, ctx())]);
          await pause(wait);
          if (leaving) return finish([], EXIT_OK);
          let next: ChatClient;
          try {
            next = await connect();
          } catch (error) {
            if (!(error instanceof ConnectError)) throw error;
            // A server whose identity changed, or that is not a chat-server any more, is not retried.
            if (error.code === 'untrusted' || error.code === 'not_chat') return finish([renderLocal('error', error.message, ctx())], EXIT_SESSION);
            continue;
          }
          const outcome = await regain(next, token, login.username, login.password, timing);
          if (leaving) {
            await next.quit(timing.quitTimeoutMs);
            next.destroy();
            return finish([], EXIT_OK);
          }
          if (outcome.kind === 'retry') {
            next.destroy();
            continue;
          }
          if (outcome.kind === 'refused') {
            await next.quit(timing.quitTimeoutMs);
            next.destroy();
            return finish(renderServerMessage(outcome.reply, ctx()), EXIT_SESSION);
          }
          client.destroy();
          client = next;
          token = typeof outcome.ok.resume === 'string' ? outcome.ok.resume : undefined;
          reconnecting = false;
          wakeReconnect = undefined;
          attach(next);
          track(outcome.ok);
          const others = Array.isArray(outcome.ok.users) ? outcome.ok.users.map((u) => sanitizeText(String(u))) : [];
          show([renderLocal('notice', `Reconnected${outcome.tokenRefused ? ' (logged in again with your password)' : ''}. Online now: ${others.length === 0 ? 'nobody else' : others.join(', ')}.`, ctx())]);
          return;
        }
      };
      attach(client);

      const sendPrivate = (to: string, text: string): void => {
        if (leaving) return;
        if (to === '' || isBlank(text)) {
          show([renderLocal('error', 'Usage: /msg <user> <text> (or c.msg <user> <text>)', ctx())]);
          return;
        }
        if (reconnecting) {
          show([renderOwnPrivate(me, to, text, { kind: 'refused', reason: 'not connected, reconnecting' }, ctx())]);
          return;
        }
        const dm = replies.say(text, to);
        if (!client.send({ type: 'dm', to, text, id: dm.id })) {
          replies.cancel(dm.id);
          show([renderOwnPrivate(me, to, text, { kind: 'refused', reason: `longer than the server's limit (${client.maxLineBytes} bytes)` }, ctx())]);
          return;
        }
        showPending();
      };

      term.startChat(`${me}> `, {
        leave: () => leave(),
        complete: (line) => completeUsername(line, online.list().filter((name) => name.toLowerCase() !== me.toLowerCase())),
        line: (text) => {
          const command = parseTextCommand(text);
          if (command !== undefined) {
            if (command.kind === 'exit') leave();
            else if (command.kind === 'who') {
              if (client.send({ type: 'who' })) replies.who();
            } else if (command.kind === 'help') show(renderHelp(help, ctx()));
            else if (command.kind === 'msg') sendPrivate(command.to, command.text);
            else show([renderLocal('error', unknownCommand(command.name), ctx())]);
            return;
          }
          const slash = parseSlashMsg(text);
          if (slash !== undefined) {
            sendPrivate(slash.to, slash.text);
            return;
          }
          if (isBlank(text) || leaving) return;
          if (reconnecting) {
            show([renderOwn(me, text, { kind: 'refused', reason: 'not connected, reconnecting' }, ctx())]);
            return;
          }
          const say = replies.say(text);
          if (!client.send({ type: 'say', text, id: say.id })) {
            replies.cancel(say.id);
            show([renderOwn(me, text, { kind: 'refused', reason: `longer than the server's limit (${client.maxLineBytes} bytes)` }, ctx())]);
            return;
          }
          showPending();
        },
      });
      show(renderServerMessage(login.ok, ctx()));
    });
  } finally {
    if (client !== first) client.destroy();
  }
}

/** Lines of a non-terminal stdin, read on demand; null at the end. */
class InputLines {
  readonly #queue: string[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(input: Readable) {
    const rl = readline.createInterface({ input, crlfDelay: Infinity, terminal: false });
    rl.on('line', (line) => {
      this.#queue.push(line);
      this.#wake?.();
    });
    rl.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  async next(): Promise<string | null> {
    while (this.#queue.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    return this.#queue.shift() ?? null;
  }
}

type SendResult = 'acked' | 'failed' | 'ended';

async function runPiped(client: ChatClient, options: ClientOptions, io: ClientIo, timing: Timing): Promise<number> {
  const ctx = (): RenderContext => context(io, false);
  const fail = (text: string): void => void io.stderr.write(`chat-client: ${text}\n`);
  const input = new InputLines(io.stdin);
  let userLeft = false;
  io.onLeaveRequest?.(() => {
    userLeft = true;
    void client.quit(timing.quitTimeoutMs);
  });

  let password: string;
  if (options.password.kind === 'stdin') {
    const first = await input.next();
    if (first === null) {
      fail('--password-stdin: stdin ended before a password line');
      await client.quit(timing.quitTimeoutMs);
      return EXIT_USAGE;
    }
    password = first;
  } else if (options.password.kind === 'env') {
    password = options.password.value;
  } else {
    throw new Error('piped mode needs a password source');
  }

  const reply = await attemptLogin(client, options.user!, password, timing);
  if (!('type' in reply)) {
    writeLines(io.stderr, endLines(reply, ctx()));
    return EXIT_SESSION;
  }
  if (reply.type === 'login_failed') {
    writeLines(io.stderr, renderServerMessage(reply, ctx()));
    await client.quit(timing.quitTimeoutMs);
    return EXIT_SESSION;
  }
  const help = typeof reply.help === 'string' ? reply.help : '';

  // What others say goes to stdout; the server's errors are handled per line below.
  client.on('message', (message) => {
    if (message.type === 'message' || message.type === 'join' || message.type === 'leave' || message.type === 'who') {
      writeLines(io.stdout, renderServerMessage(message, ctx()));
    }
  });

  let undelivered = 0;
  let sent = 0;
  const sendOne = async (text: string, lineNumber: number, to?: string): Promise<SendResult> => {
    for (let attempt = 0; ; attempt += 1) {
      const id = String((sent += 1));
      const outcome = client.next<ServerMessage>((m) => (m.type === 'ack' && m.id === id) || m.type === 'error', timing.ackTimeoutMs);
      if (!client.send(to === undefined ? { type: 'say', text, id } : { type: 'dm', to, text, id })) {
        outcome.catch(() => undefined);
        fail(`line ${lineNumber} not sent: longer than the server's limit (${client.maxLineBytes} bytes)`);
        return 'failed';
      }
      let message: ServerMessage;
      try {
        message = await outcome;
      } catch (error) {
        if (error instanceof SessionEndedError) return 'ended';
        fail(`line ${lineNumber}: ${(error as Error).message}`);
        return 'failed';
      }
      if (message.type === 'ack') return 'acked';
      const err = message as ErrorReply;
      const delay = timing.rateLimitRetryMs[attempt];
      if (err.code === 'rate_limited' && delay !== undefined) {
        fail(`line ${lineNumber}: rate limited by the server, sending again in ${delay / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (client.sessionEnd !== undefined) return 'ended';
        continue;
      }
      fail(`line ${lineNumber} not delivered: ${sanitizeText(String(err.message ?? err.code))}`);
      return 'failed';
    }
  };

  const ended = new Promise<null>((resolve) => client.once('end', () => resolve(null)));
  let lineNumber = options.password.kind === 'stdin' ? 1 : 0;
  for (;;) {
    const text = client.sessionEnd === undefined ? await Promise.race([input.next(), ended]) : null;
    if (text === null || userLeft) break;
    lineNumber += 1;
    if (isBlank(text)) continue;
    const command = parseTextCommand(text);
    if (command?.kind === 'exit') break;
    if (command?.kind === 'help') {
      writeLines(io.stdout, renderHelp(help, ctx()));
      continue;
    }
    if (command?.kind === 'who') {
      // Printed by the message listener; waiting keeps it in order with what follows.
      const reply = client.next((m) => m.type === 'who', timing.ackTimeoutMs);
      client.send({ type: 'who' });
      await reply.catch(() => undefined);
      continue;
    }
    if (command?.kind === 'msg') {
      const result = await sendOne(command.text, lineNumber, command.to);
      if (result === 'ended') break;
      if (result === 'failed') undelivered += 1;
      continue;
    }
    if (command?.kind === 'unknown') {
      fail(`line ${lineNumber} not sent: ${unknownCommand(command.name)}`);
      undelivered += 1;
      continue;
    }
    const result = await sendOne(text, lineNumber);
    if (result === 'ended') break;
    if (result === 'failed') undelivered += 1;
  }

  // Every line was acknowledged (or given up on) before this quit.
  const endedFirst = client.sessionEnd;
  const end = endedFirst ?? (await client.quit(timing.quitTimeoutMs));
  const quitOk = end.bye === undefined || end.bye.reason === 'quit';
  const onPurpose = quitOk && (endedFirst === undefined || userLeft);
  if (!onPurpose) writeLines(io.stderr, endLines(end, ctx()));
  if (undelivered > 0) fail(`${undelivered} line(s) not delivered`);
  return onPurpose && undelivered === 0 ? EXIT_OK : EXIT_SESSION;
}
