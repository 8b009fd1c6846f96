import type { ByeReason, LeaveReason, LoginFailReason, LoginOk, ServerMessage } from '../protocol/messages.js';
import { sanitizeText } from '../protocol/sanitize.js';
import { encodeTextEvent, listOrNobody, loginFailAdvice } from '../protocol/text-codec.js';

/** How to render: colours or not, and the clock for lines that carry no time. */
export interface RenderContext {
  readonly color: boolean;
  readonly now: Date;
}

/** A display line without its newline; `error` lines go to stderr when stdout is not a terminal. */
export interface DisplayLine {
  readonly text: string;
  readonly kind: 'chat' | 'notice' | 'error';
}

const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const BOLD = '\x1b[1m';
const NOTICE = '\x1b[36m';
const ERROR = '\x1b[1;31m';
/** Readable on dark and light backgrounds; red is kept for errors. */
export const NAME_PALETTE: readonly string[] = ['\x1b[32m', '\x1b[33m', '\x1b[34m', '\x1b[35m', '\x1b[36m', '\x1b[92m', '\x1b[93m', '\x1b[94m', '\x1b[95m', '\x1b[96m'];

// The codec's tables know these; anything else (a newer server) gets a generic line.
const KNOWN_BYE: Record<ByeReason, true> = {
  quit: true,
  too_many_attempts: true,
  login_timeout: true,
  timeout: true,
  kicked: true,
  removed: true,
  disabled: true,
  shutdown: true,
  slow_consumer: true,
  flooding: true,
  too_much_input: true,
  replaced: true,
};
const KNOWN_LEAVE: Record<LeaveReason, true> = { quit: true, disconnected: true, timeout: true, kicked: true, removed: true, disabled: true };
const KNOWN_LOGIN_FAIL: Record<LoginFailReason, true> = {
  invalid_credentials: true,
  already_logged_in: true,
  disabled: true,
  bad_request: true,
  server_busy: true,
  resume_invalid: true,
};

function known(table: Record<string, true>, value: unknown): boolean {
  return typeof value === 'string' && Object.hasOwn(table, value);
}

function clean(value: unknown): string {
  return typeof value === 'string' ? sanitizeText(value) : '';
}

function cleanList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(clean) : [];
}

/** `HH:MM` in local time. */
export function formatClock(date: Date): string {
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

/** `HH:MM` for a time on `now`'s (local) day, `YYYY-MM-DD HH:MM` before: replayed messages may be days old. */
export function formatPastClock(date: Date, now: Date): string {
  const day = (d: Date): string => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  return day(date) === day(now) ? formatClock(date) : `${day(date)} ${formatClock(date)}`;
}

/** FNV-1a over the lower-cased name: `Shon` and `shon` are one user, so one colour. */
export function nameColor(name: string): string {
  let hash = 0x811c9dc5;
  for (const char of name.toLowerCase()) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return NAME_PALETTE[hash % NAME_PALETTE.length]!;
}

function paint(color: boolean, style: string, text: string): string {
  return color ? `${style}${text}${RESET}` : text;
}

function stamp(context: RenderContext, date: Date, body: string): string {
  return `${paint(context.color, DIM, formatClock(date))} ${body}`;
}

function line(context: RenderContext, kind: DisplayLine['kind'], text: string, date = context.now): DisplayLine {
  const style = kind === 'error' ? ERROR : NOTICE;
  return { kind, text: stamp(context, date, kind === 'chat' ? text : paint(context.color, style, text)) };
}

/** A line the client itself says (`* ...` notice or `! ...` error); `text` is ours, not the server's. */
export function renderLocal(kind: 'notice' | 'error', text: string, context: RenderContext): DisplayLine {
  return line(context, kind, `${kind === 'error' ? '!' : '*'} ${text}`);
}

/** A chat line, from another user or (after sending) from us. */
export function renderChat(from: string, text: string, context: RenderContext, date = context.now, own = false): DisplayLine {
  const name = sanitizeText(from);
  const shown = context.color ? `${own ? BOLD : `${BOLD}${nameColor(name)}`}${name}${RESET}` : name;
  return line(context, 'chat', `${shown}: ${sanitizeText(text)}`, date);
}

const PRIVATE = '\x1b[1;35m';

/** A private message to us: `[private] ron: text`, marked in colour. */
export function renderPrivate(from: string, text: string, context: RenderContext, date = context.now): DisplayLine {
  return line(context, 'chat', `${paint(context.color, PRIVATE, '[private]')} ${paint(context.color, BOLD, sanitizeText(from))}: ${sanitizeText(text)}`, date);
}

/** The dim line before replayed messages. */
export function renderHistoryHeader(context: RenderContext): DisplayLine {
  return { kind: 'notice', text: paint(context.color, DIM, '— recent messages —') };
}

/** The help text a server sent in `login_ok`, one notice per line. */
export function renderHelp(help: string, context: RenderContext): DisplayLine[] {
  return help
    .split('\n')
    .map((text) => sanitizeText(text).trim())
    .filter((text) => text !== '')
    .map((text) => renderLocal('notice', text, context));
}

export function renderWelcome(ok: LoginOk, context: RenderContext): DisplayLine[] {
  const welcome = `Welcome, ${clean(ok.username)}! Online now: ${listOrNobody(cleanList(ok.users))}.`;
  return [renderLocal('notice', welcome, context), ...renderHelp(typeof ok.help === 'string' ? ok.help : '', context)];
}

function fromCodec(text: string | undefined, context: RenderContext): DisplayLine[] {
  if (text === undefined) return [];
  return text
    .split('\n')
    .filter((t) => t !== '')
    .map((t) => (t.startsWith('! ') ? line(context, 'error', t) : line(context, 'notice', t)));
}

function parseTime(ts: unknown, fallback: Date): Date {
  if (typeof ts !== 'string') return fallback;
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? fallback : date;
}

/**
 * Display lines for a message from the server, every string sanitised.
 * Messages with nothing to show (hello, ack, ping, unknown) give [].
 */
export function renderServerMessage(message: ServerMessage, context: RenderContext): DisplayLine[] {
  switch (message.type) {
    case 'message': {
      const at = parseTime(message.ts, context.now);
      if (message.history !== true) return [renderChat(clean(message.from), clean(message.text), context, at)];
      // Replayed: its own time (a date when not today), the whole line dim, so it stands apart from live chat.
      const name = clean(message.from);
      return [{ kind: 'chat', text: paint(context.color, DIM, `${formatPastClock(at, context.now)} ${name}: ${clean(message.text)}`) }];
    }
    case 'history_end':
      return Number(message.count) > 0 ? [{ kind: 'notice', text: paint(context.color, DIM, '— live —') }] : [];
    case 'dm':
      return [renderPrivate(`${clean(message.from)}`, clean(message.text), context, parseTime(message.ts, context.now))];
    case 'login_ok':
      return renderWelcome(message, context);
    case 'login_failed': {
      if (!known(KNOWN_LOGIN_FAIL, message.reason)) {
        return [renderLocal('error', `Login failed (${clean(message.reason)}). ${Number(message.attempts_left)} attempt(s) left.`, context)];
      }
      const attemptsLeft = Number(message.attempts_left);
      // An address lock's explanation (a server extension) is shown as the server's text mode shows it.
      const explained = typeof message.message === 'string' && typeof message.retry_after === 'number' ? { retry_after: message.retry_after, message: clean(message.message) } : {};
      const lines = fromCodec(encodeTextEvent({ type: 'login_failed', reason: message.reason, attempts_left: attemptsLeft, ...explained }), context);
      // The codec adds the advice only while attempts are left (the bye follows the last one); the client says it always.
      const advice = loginFailAdvice(message.reason);
      if (advice !== undefined && !(attemptsLeft > 0)) lines.push(renderLocal('notice', advice, context));
      return lines;
    }
    case 'join':
      return fromCodec(encodeTextEvent({ type: 'join', user: clean(message.user) }), context);
    case 'leave': {
      const reason = known(KNOWN_LEAVE, message.reason) ? message.reason : 'quit';
      return fromCodec(encodeTextEvent({ type: 'leave', user: clean(message.user), reason }), context);
    }
    case 'who':
      return fromCodec(encodeTextEvent({ type: 'who', users: cleanList(message.users) }), context);
    case 'error':
      return [renderLocal('error', clean(message.message) || `Error: ${clean(message.code)}`, context)];
    case 'bye': {
      if (!known(KNOWN_BYE, message.reason)) {
        const detail = typeof message.message === 'string' ? `: ${clean(message.message)}` : '';
        return [renderLocal('error', `Disconnected by the server (${clean(message.reason)})${detail}. Goodbye.`, context)];
      }
      const bye: ServerMessage = { type: 'bye', reason: message.reason };
      if (typeof message.message === 'string' && clean(message.message).trim() !== '') bye.message = clean(message.message).trim();
      return fromCodec(encodeTextEvent(bye), context);
    }
    default:
      return [];
  }
}

/** One line for each kind of local failure to reach or keep the server. */
export function renderConnectionLost(context: RenderContext): DisplayLine {
  return renderLocal('error', 'Connection to the server lost.', context);
}

/** Where a line we typed stands: waiting for the server's ack, accepted, refused, or unknown because the connection ended. */
export type OwnLineStatus = { readonly kind: 'pending' } | { readonly kind: 'sent' } | { readonly kind: 'refused'; readonly reason: string } | { readonly kind: 'unconfirmed' };

/**
 * A line we typed, saying in the line itself whether the server took it:
 * `shon: hi` only once acknowledged; `shon: hi (sending...)` before;
 * `shon: hi [not sent: Slow down: rate limit reached.]` when refused.
 */
export function renderOwn(me: string, text: string, status: OwnLineStatus, context: RenderContext): DisplayLine {
  return withStatus(renderChat(me, text, context, context.now, true), status, context);
}

/** A private message we sent: `[private to ron] shon: hi`, with its status as renderOwn has it. */
export function renderOwnPrivate(me: string, to: string, text: string, status: OwnLineStatus, context: RenderContext): DisplayLine {
  const chat = line(context, 'chat', `${paint(context.color, PRIVATE, `[private to ${sanitizeText(to)}]`)} ${paint(context.color, BOLD, sanitizeText(me))}: ${sanitizeText(text)}`);
  return withStatus(chat, status, context);
}

function withStatus(chat: DisplayLine, status: OwnLineStatus, context: RenderContext): DisplayLine {
  switch (status.kind) {
    case 'sent':
      return chat;
    case 'pending':
      return { kind: 'chat', text: `${chat.text} ${paint(context.color, DIM, '(sending...)')}` };
    case 'refused':
      return { kind: 'error', text: `${chat.text} ${paint(context.color, ERROR, `[not sent: ${sanitizeText(status.reason)}]`)}` };
    case 'unconfirmed':
      return { kind: 'error', text: `${chat.text} ${paint(context.color, ERROR, '[not confirmed: the connection ended before the server acknowledged it]')}` };
  }
}

/** `/msg <user> <text>` typed in chat-client (IRC's spelling of c.msg), or undefined for any other line. */
export function parseSlashMsg(line: string): { to: string; text: string } | undefined {
  const match = /^\/msg(?:\s+(\S*))?(?:\s(.*))?$/is.exec(line);
  if (match === null) return undefined;
  return { to: match[1] ?? '', text: (match[2] ?? '').replace(/^\s+/, '') };
}
