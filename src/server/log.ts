import { escapeForLog } from '../protocol/sanitize.js';

export type LogFields = Readonly<Record<string, string | number | undefined>>;

/** The operator's log: one line per event on stdout. Never given a password. */
export interface Logger {
  info(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Exactly `Failed login for NAME from ADDRESS`, the shape fail2ban filters match. */
  failedLogin(username: string, address: string): void;
}

/**
 * Client text is shown escaped, never deleted (see escapeForLog); a value
 * with a space, a quote or `=` is quoted, its quotes escaped as `\"`
 * (backslashes already are), so one line always parses back into its fields.
 */
function formatValue(value: string | number): string {
  const text = escapeForLog(String(value), 200);
  return /[ "=]/.test(text) || text.length === 0 ? `"${text.replace(/"/g, '\\"')}"` : text;
}

function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) out += ` ${key}=${formatValue(value)}`;
  }
  return out;
}

export function createLogger(write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const line = (level: string, text: string) => write(`${now().toISOString()} ${level} ${text}\n`);
  return {
    info: (event, fields) => line('info', event + formatFields(fields)),
    error: (event, fields) => line('error', event + formatFields(fields)),
    failedLogin: (username, address) => line('warn', `Failed login for ${formatValue(username)} from ${address}`),
  };
}
