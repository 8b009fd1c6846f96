import type { ByeReason, LeaveReason, LoginFailReason, ServerEvent } from './messages.js';
import { HELP_LINES } from './messages.js';

const LOGIN_FAIL_TEXT: Record<LoginFailReason, string> = {
  invalid_credentials: 'invalid username or password',
  already_logged_in: 'already logged in',
  disabled: 'account disabled',
  bad_request: 'bad request',
  server_busy: 'server busy, please try again',
  resume_invalid: 'session expired, log in again',
};

/**
 * What to do after a refusal that no retry of the password can fix. Text mode
 * sends it as a `* ` notice after the `! Login failed` line (which stays as
 * PROTOCOL.md has it); chat-client derives the same from the JSON reason.
 */
const LOGIN_FAIL_ADVICE: Partial<Record<LoginFailReason, string>> = {
  disabled: 'This account is disabled: ask an administrator to enable it again.',
  already_logged_in: 'This user is already logged in elsewhere: log out there first (c.exit), or ask an administrator to end that session.',
};

export function loginFailAdvice(reason: LoginFailReason): string | undefined {
  return LOGIN_FAIL_ADVICE[reason];
}

const LEAVE_SUFFIX: Record<LeaveReason, string> = {
  quit: '',
  disconnected: ' (connection lost)',
  timeout: ' (timed out)',
  kicked: ' (kicked)',
  removed: ' (account removed)',
  disabled: ' (account disabled)',
};

const BYE_TEXT: Record<ByeReason, string> = {
  quit: '* Goodbye.',
  too_many_attempts: '! Too many failed attempts. Goodbye.',
  login_timeout: '! Login timed out. Goodbye.',
  timeout: '! Connection timed out. Goodbye.',
  kicked: '! You were kicked by an administrator. Goodbye.',
  removed: '! Your account was removed. Goodbye.',
  disabled: '! Your account was disabled. Goodbye.',
  shutdown: '* The server is shutting down. Goodbye.',
  slow_consumer: '! Disconnected: you were not reading fast enough. Goodbye.',
  flooding: '! Disconnected for flooding. Goodbye.',
  too_much_input: '! Too much input before login. Goodbye.',
  replaced: '* This session was resumed on another connection. Goodbye.',
};

/** `HH:MM` (UTC) for a time on `now`'s UTC day, `YYYY-MM-DD HH:MM` before; an unreadable time as given. */
export function historyTime(ts: string, now: number): string {
  const date = new Date(ts);
  if (Number.isNaN(date.getTime())) return ts;
  const iso = date.toISOString();
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? iso.slice(11, 16) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

export function listOrNobody(users: readonly string[]): string {
  return users.length === 0 ? 'nobody else' : users.join(', ');
}

/**
 * Renders an event for text mode: plain lines ending in `\n`, prompts without
 * one. Events with no text form (ack, ping) give undefined. Chat text and
 * usernames are sanitised before they become events, not here.
 */
export function encodeTextEvent(event: ServerEvent): string | undefined {
  switch (event.type) {
    case 'greeting':
      return `chat-server: log in to chat (${event.max_attempts} attempts).\n`;
    case 'prompt':
      return event.field === 'username' ? 'Username: ' : 'Password: ';
    case 'login_ok':
      return [`* Welcome, ${event.username}! Online now: ${listOrNobody(event.users)}.`, ...HELP_LINES.map((l) => `* ${l}`)].join('\n') + '\n';
    case 'login_failed': {
      // An explanation (an address lock) comes first, on its own line, also before the last goodbye.
      const notice = event.message === undefined ? '' : `! ${event.message.charAt(0).toUpperCase()}${event.message.slice(1)}.\n`;
      // The last failure is followed by the bye line, which says it all.
      if (event.attempts_left === 0) return notice === '' ? undefined : notice;
      const advice = loginFailAdvice(event.reason);
      return `${notice}! Login failed: ${LOGIN_FAIL_TEXT[event.reason]}. ${event.attempts_left} attempt(s) left.\n${advice === undefined ? '' : `* ${advice}\n`}`;
    }
    case 'message':
      return `${event.from}: ${event.text}\n`;
    case 'history':
      if (event.messages.length === 0) return undefined;
      return ['* Recent messages:', ...event.messages.map((m) => `[${historyTime(m.ts, event.now)}] ${m.from}: ${m.text}`), '* End of recent messages.'].join('\n') + '\n';
    case 'dm':
      return `[private] ${event.from}: ${event.text}\n`;
    case 'join':
      return `* ${event.user} has joined the chat.\n`;
    case 'leave':
      return `* ${event.user} left the chat${LEAVE_SUFFIX[event.reason]}.\n`;
    case 'who':
      return `* Online now (${event.users.length}): ${event.users.join(', ')}.\n`;
    case 'help':
      return HELP_LINES.map((l) => `* ${l}`).join('\n') + '\n';
    case 'error':
      return `! ${event.message}\n`;
    case 'bye': {
      const text = BYE_TEXT[event.reason];
      return event.message === undefined ? `${text}\n` : `${text.replace(/\. Goodbye\.$/, `: ${event.message}. Goodbye.`)}\n`;
    }
    case 'hello':
    case 'ack':
    case 'ping':
    case 'history_end':
      return undefined;
  }
}
