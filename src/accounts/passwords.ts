import bcrypt from 'bcryptjs';
import { isValidUsername, USERNAME_RULE } from '../protocol/usernames.js';
import { AccountError } from './errors.js';

export const DEFAULT_BCRYPT_COST = 12;
export const MIN_BCRYPT_COST = 4;
export const MAX_BCRYPT_COST = 15;
/** bcrypt reads at most 72 bytes; a longer password is refused rather than silently cut. */
export const MAX_PASSWORD_BYTES = 72;
/** NIST SP 800-63B: at least 8 characters for a password the user chose. */
export const DEFAULT_MIN_PASSWORD_LENGTH = 8;

export function assertValidUsername(name: string): void {
  if (!isValidUsername(name)) {
    throw new AccountError('INVALID_USERNAME', `invalid username ${JSON.stringify(name)}: use ${USERNAME_RULE}`);
  }
}

export function assertValidPassword(password: string): void {
  if (password.length === 0) throw new AccountError('PASSWORD_EMPTY', 'the password is empty');
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes > MAX_PASSWORD_BYTES) {
    throw new AccountError(
      'PASSWORD_TOO_LONG',
      `the password is ${bytes} bytes; bcrypt uses at most ${MAX_PASSWORD_BYTES}, so it is refused rather than cut`,
    );
  }
}

/**
 * The rule for a new password: assertValidPassword, and at least `minLength`
 * characters (code points, so that a password of 8 accented letters counts 8).
 */
export function assertNewPassword(password: string, minLength: number): void {
  assertValidPassword(password);
  const length = Array.from(password).length;
  if (length < minLength) {
    throw new AccountError('PASSWORD_TOO_SHORT', `the password is ${length} character${length === 1 ? '' : 's'}; use at least ${minLength}`);
  }
}

export function assertValidBcryptCost(cost: number): void {
  if (!Number.isInteger(cost) || cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST) {
    throw new AccountError('INVALID_BCRYPT_COST', `bcrypt cost must be a whole number from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}`);
  }
}

/** The cost a bcrypt hash was made with (`$2b$12$...` → 12), or undefined if it is not one. */
export function bcryptCostOf(hash: string): number | undefined {
  const match = /^\$2[abxy]\$(\d{2})\$/.exec(hash);
  return match === null ? undefined : Number(match[1]);
}

/** bcryptjs is pure JavaScript: in a server, call this through the worker pool, never on the event loop. */
export async function hashPassword(password: string, cost: number): Promise<string> {
  assertValidPassword(password);
  assertValidBcryptCost(cost);
  return bcrypt.hash(password, cost);
}

export async function comparePassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}
