import { MAX_BCRYPT_COST, MIN_BCRYPT_COST } from '../accounts/passwords.js';
import { formatDuration, formatSize, isProblem, parseDuration, parseSize, parseWholeNumber, type Parsed } from './value-grammar.js';

export type ValueKind = 'string' | 'port' | 'count' | 'duration' | 'size' | 'cost' | 'path' | 'flag' | 'redis-url';

/**
 * One option of a program: its flag, its environment variable, how its value
 * is read and bounded, its default (written in the option's own grammar) and
 * its help. Tables of these drive parsing, validation, --help and the docs test.
 */
export interface OptionSpec<Key extends string = string, Kind extends string = ValueKind> {
  /** The property of the program's config object. */
  key: Key;
  flag: string;
  env: string;
  kind: Kind;
  default: string;
  /** Smallest accepted value other than 0 (where 0 switches the limit off); durations in ms, sizes in bytes. */
  min?: number;
  max?: number;
  /** 0 means "off" for this option. */
  zeroDisables?: boolean;
  help: string;
  /** The value's name in --help (`--db <path>`); default: the kind. */
  valueName?: string;
}

export type OptionValue = number | string | boolean;

/** Any program's spec, for the functions that read every table. */
export type AnyOptionSpec<Kind extends string = string> = OptionSpec<string, Kind>;

/** Every bad value of one start, each named with where it came from. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/** The longest delay a Node timer honours: the default upper bound of a duration. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const FLAG_TRUE = /^(1|true|yes|on)$/i;
const FLAG_FALSE = /^(|0|false|no|off)$/i;

/** A bound written the way the option is written: `60s`, `1KiB`, `3`. */
function formatBound(kind: string, value: number): string {
  if (kind === 'duration') return formatDuration(value);
  if (kind === 'size') return formatSize(value);
  return String(value);
}

/** Parses one raw value of a spec; returns the value or a problem description. */
export function parseOptionValue(spec: AnyOptionSpec, raw: string): Parsed<OptionValue> {
  const text = raw.trim();
  let parsed: Parsed<number>;
  switch (spec.kind) {
    case 'path':
      return text;
    case 'flag':
      if (FLAG_TRUE.test(text)) return true;
      return FLAG_FALSE.test(text) ? false : { problem: 'must be true or false (1/0, yes/no, on/off)' };
    case 'string':
      return text.length > 0 ? text : { problem: 'must not be empty' };
    case 'redis-url':
      return parseRedisUrl(text, spec.default === '');
    case 'port': {
      const value = parseWholeNumber(text);
      return !isProblem(value) && value <= 65535 ? value : { problem: 'must be a port number from 0 to 65535' };
    }
    case 'cost': {
      const value = parseWholeNumber(text);
      return !isProblem(value) && value >= MIN_BCRYPT_COST && value <= MAX_BCRYPT_COST
        ? value
        : { problem: `must be a whole number from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}` };
    }
    case 'count':
      parsed = parseWholeNumber(text);
      break;
    case 'duration':
      parsed = parseDuration(text);
      break;
    case 'size':
      parsed = parseSize(text);
      break;
    default:
      throw new Error(`option --${spec.flag} has a kind this parser does not know: ${spec.kind}`);
  }
  if (isProblem(parsed)) return parsed;
  return checkBounds(spec, parsed, text);
}

/** A `redis://` or `rediss://` URL (empty when the option may be absent). */
function parseRedisUrl(text: string, mayBeEmpty: boolean): Parsed<OptionValue> {
  if (text === '' && mayBeEmpty) return '';
  const problem = { problem: 'must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379' };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return problem;
  }
  return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' ? text : problem;
}

function checkBounds(spec: AnyOptionSpec, value: number, text: string): Parsed<number> {
  if (value === 0 && spec.zeroDisables === true) return 0;
  const bound = (n: number) => formatBound(spec.kind, n);
  if (spec.min !== undefined && value < spec.min) return { problem: `must be at least ${bound(spec.min)}${spec.zeroDisables ? ' (or 0 for off)' : ''}` };
  if (value === 0 && spec.zeroDisables !== true && spec.min === undefined) return { problem: 'must be more than 0' };
  const max = spec.max ?? (spec.kind === 'duration' ? MAX_TIMER_MS : undefined);
  if (max !== undefined && value > max) {
    // `5000` meant as milliseconds is the likely slip: say how to write that.
    const asMs = spec.kind === 'duration' && /^\d+$/.test(text) && Number(text) <= max ? `; a bare number means seconds: for milliseconds write ${text}ms` : '';
    return { problem: `must be at most ${bound(max)}${asMs}` };
  }
  return value;
}

/** Where each option's raw value came from: the flag, else the environment, else the default. */
export interface RawSource {
  readonly raw: string;
  /** `--busy-timeout`, `CHAT_BUSY_TIMEOUT` or `default of --busy-timeout`. */
  readonly source: string;
}

export function rawValueOf(spec: AnyOptionSpec, cli: Readonly<Record<string, string | undefined>>, env: Readonly<Record<string, string | undefined>>): RawSource {
  const fromCli = cli[spec.flag];
  if (fromCli !== undefined) return { raw: fromCli, source: `--${spec.flag}` };
  const fromEnv = env[spec.env];
  if (fromEnv !== undefined && fromEnv !== '') return { raw: fromEnv, source: spec.env };
  return { raw: spec.default, source: `default of --${spec.flag}` };
}

/**
 * Resolves every spec (flag over environment over default) into `values`,
 * and collects every bad value into `problems`, each naming its source.
 */
export function resolveOptions<Kind extends string>(
  specs: readonly AnyOptionSpec<Kind>[],
  cli: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
  parse: (spec: AnyOptionSpec<Kind>, raw: string) => Parsed<OptionValue> = parseOptionValue,
): { values: Record<string, OptionValue>; problems: string[] } {
  const values: Record<string, OptionValue> = {};
  const problems: string[] = [];
  for (const spec of specs) {
    const { raw, source } = rawValueOf(spec, cli, env);
    const value = parse(spec, raw);
    if (isProblem(value)) problems.push(`${source} ${JSON.stringify(raw)} ${value.problem}`);
    else values[spec.key] = value;
  }
  return { values, problems };
}

/** Resolves specs into one frozen object, or throws one ConfigError listing every bad value. */
export function buildConfig<Config>(
  specs: readonly AnyOptionSpec[],
  cli: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): Readonly<Config> {
  const { values, problems } = resolveOptions(specs, cli, env);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values as unknown as Config);
}
