/**
 * The one grammar for option values of chat-server, chat-admin and
 * chat-client, whether they come from a flag or an environment variable.
 *
 * - Duration: a number (decimals allowed) and a unit, `ms`, `s`, `m`, `h` or
 *   `d` (any case): `500ms`, `30s`, `1.5m`, `2h`, `7d`. A bare number means
 *   seconds, for every duration option of every program.
 * - Size: a whole number and a unit, `B`, `KiB` (`k`, `kb`) or `MiB` (`m`,
 *   `mb`), any case: `4096`, `64KiB`, `1MiB`. A bare number means bytes.
 * - Count: a whole number.
 *
 * Parsers return the value, or a `{ problem }` saying what was expected, with
 * the unit; they never throw.
 */

/** What a parser says about a value it cannot take; it reads after the value: `"1x" must be ...`. */
export interface ValueProblem {
  readonly problem: string;
}

export type Parsed<T> = T | ValueProblem;

export function isProblem(value: unknown): value is ValueProblem {
  return typeof value === 'object' && value !== null && 'problem' in value;
}

const DURATION = /^(\d{1,15}(?:\.\d{1,6})?)(ms|s|m|h|d)?$/i;
const SIZE = /^(\d{1,15})(b|k|kb|kib|m|mb|mib)?$/i;
const WHOLE = /^\d{1,15}$/;

export const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20 };

/** The sentence every duration error and every --help ends with. */
export const DURATION_RULE = 'a number with ms, s, m, h or d, such as 500ms, 30s, 5m, 2h, 7d (a bare number means seconds)';
export const SIZE_RULE = 'a whole number with KiB or MiB, such as 4096, 64KiB, 1MiB (a bare number means bytes)';

/** `30s` → 30000; a bare number is seconds. Only an exact 0 is 0: a tiny positive duration is at least 1 ms. */
export function parseDuration(text: string): Parsed<number> {
  const match = DURATION.exec(text.trim());
  if (match === null) return { problem: `must be a duration: ${DURATION_RULE}` };
  const exact = Number(match[1]) * DURATION_UNITS_MS[(match[2] ?? 's').toLowerCase()]!;
  return exact === 0 ? 0 : Math.max(1, Math.round(exact));
}

/** `64KiB` → 65536; a bare number is bytes. */
export function parseSize(text: string): Parsed<number> {
  const match = SIZE.exec(text.trim());
  if (match === null) return { problem: `must be a size: ${SIZE_RULE}` };
  const value = Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]!;
  return Number.isSafeInteger(value) ? value : { problem: `must be a size: ${SIZE_RULE}` };
}

export function parseWholeNumber(text: string): Parsed<number> {
  const trimmed = text.trim();
  return WHOLE.test(trimmed) ? Number(trimmed) : { problem: 'must be a whole number' };
}

/** Milliseconds in the largest unit that divides them: 60000 → `1m`, 1500 → `1500ms`, 0 → `0`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS_MS[unit]!;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Bytes in the largest unit that divides them: 1048576 → `1MiB`, 1024 → `1KiB`, 100 → `100 bytes`. */
export function formatSize(bytes: number): string {
  if (bytes !== 0 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)}MiB`;
  if (bytes !== 0 && bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return `${bytes} bytes`;
}
