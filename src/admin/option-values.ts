import { InvalidArgumentError } from 'commander';
import { MAX_BCRYPT_COST, MIN_BCRYPT_COST } from '../accounts/passwords.js';

/**
 * Parsers for option values. They throw commander's InvalidArgumentError so
 * that a bad flag is a usage error; settings.ts reuses them for environment
 * variables.
 */

export const DEFAULT_AUDIT_LIMIT = 50;
export const MAX_AUDIT_LIMIT = 10_000;
export const MAX_BUSY_TIMEOUT_MS = 600_000;
/** Far enough back for any audit log, near enough that `now - duration` stays a valid date. */
const MAX_DURATION_MS = 100 * 365 * 86_400_000;

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `15m`, `2h`, `7d` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,12})([smhd])$/.exec(text.trim());
  const ms = match === null ? NaN : Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  if (!(ms > 0) || ms > MAX_DURATION_MS) {
    throw new InvalidArgumentError('expected a positive number followed by s, m, h or d (for example 30s, 15m, 2h, 7d)');
  }
  return ms;
}

export function parseAuditLimit(text: string): number {
  return parseWholeNumber(text, 1, MAX_AUDIT_LIMIT);
}

export function parseBusyTimeout(text: string): number {
  return parseWholeNumber(text, 0, MAX_BUSY_TIMEOUT_MS);
}

export function parseBcryptCost(text: string): number {
  return parseWholeNumber(text, MIN_BCRYPT_COST, MAX_BCRYPT_COST);
}

function parseWholeNumber(text: string, min: number, max: number): number {
  const value = /^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(value >= min && value <= max)) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
  return value;
}
