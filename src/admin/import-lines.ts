import { AccountError } from '../accounts/errors.js';
import { assertNewPassword, assertValidUsername } from '../accounts/passwords.js';
import { usernameKey } from '../store/users.js';
import { CliError } from './errors.js';

export interface ImportLine {
  /** 1-based line number in the input. */
  line: number;
  username: string;
  password: string;
}

/**
 * Parses `name:password` lines. Blank lines and `#` comments are skipped; the
 * password is everything after the first colon, kept as is (it may hold
 * colons and spaces). The first bad line fails the whole input, naming its
 * number, so that an import is all or nothing before any hashing starts.
 */
export function parseImportLines(text: string, minPasswordLength: number): ImportLine[] {
  const accounts: ImportLine[] = [];
  const firstLineOf = new Map<string, number>();
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = content.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const colon = content.indexOf(':');
    if (colon < 0) throw badLine(line, 'expected name:password');
    const username = content.slice(0, colon).trim();
    const password = content.slice(colon + 1);
    try {
      assertValidUsername(username);
      assertNewPassword(password, minPasswordLength);
    } catch (error) {
      if (error instanceof AccountError) throw badLine(line, error.message, error);
      throw error;
    }
    const first = firstLineOf.get(usernameKey(username));
    if (first !== undefined) throw badLine(line, `user ${username} is listed twice (first on line ${first})`);
    firstLineOf.set(usernameKey(username), line);
    accounts.push({ line, username, password });
  });
  return accounts;
}

function badLine(line: number, reason: string, cause?: unknown): CliError {
  return new CliError('IMPORT_INVALID_LINE', `line ${line}: ${reason}`, { cause });
}
