import { InvalidArgumentError } from 'commander';
import { isProblem, parseDuration, parseWholeNumber, type Parsed } from '../config/value-grammar.js';

/**
 * Parsers of verb options (commander argParsers) on the shared grammar. They
 * throw commander's InvalidArgumentError, so that a bad value is a usage error.
 */

export const DEFAULT_AUDIT_LIMIT = 50;
export const MAX_AUDIT_LIMIT = 10_000;
/** Far enough back for any audit log, near enough that `now - duration` stays a valid date. */
const MAX_SINCE_MS = 100 * 365 * 86_400_000;

function orThrow<T>(value: Parsed<T>): T {
  if (isProblem(value)) throw new InvalidArgumentError(value.problem);
  return value;
}

/** `30s`, `15m`, `2h`, `7d` (a bare number is seconds) → milliseconds, above 0. */
export function parseSince(text: string): number {
  const ms = orThrow(parseDuration(text));
  if (ms === 0) throw new InvalidArgumentError('must be more than 0');
  if (ms > MAX_SINCE_MS) throw new InvalidArgumentError('must be at most 36500d');
  return ms;
}

export function parseAuditLimit(text: string): number {
  const value = orThrow(parseWholeNumber(text));
  if (value < 1 || value > MAX_AUDIT_LIMIT) throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
  return value;
}

/** Accepts an ISO 8601 date or time (`2026-12-01`, `2026-12-01T10:00:00Z`). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** `--since` of `history`: a duration back from now (`2h`, `7d`), or an ISO time; returns the ISO time in UTC. */
export function parseSinceOrTime(text: string, now: () => Date): string {
  const trimmed = text.trim();
  if (ISO_TIME.test(trimmed)) {
    const at = new Date(trimmed.length === 10 ? `${trimmed}T00:00:00Z` : trimmed.replace(' ', 'T'));
    if (Number.isNaN(at.getTime())) throw new InvalidArgumentError('is not a valid date');
    return at.toISOString();
  }
  try {
    return new Date(now().getTime() - parseSince(trimmed)).toISOString();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`must be a duration such as 2h or 7d, or an ISO time such as 2026-12-01T10:00:00Z (${error.message})`);
    throw error;
  }
}
