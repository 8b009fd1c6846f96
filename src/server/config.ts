import { availableParallelism } from 'node:os';
import { DEFAULT_BCRYPT_COST, MAX_BCRYPT_COST, MIN_BCRYPT_COST } from '../accounts/passwords.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_LINE_BYTES, DEFAULT_PORT } from '../protocol/limits.js';
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_DB_FILE } from '../store/open-store.js';

/** Everything chat-server can be told, validated once and frozen. Durations are in ms, sizes in bytes. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dbFile: string;
  readonly busyTimeoutMs: number;
  /** Cost of the dummy hash when the database has no users yet to copy it from. */
  readonly bcryptCost: number;
  readonly maxLineBytes: number;
  /** Longest line accepted before login: a login needs little, a slowloris gets little. */
  readonly preLoginMaxLineBytes: number;
  readonly maxAttempts: number;
  readonly loginTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly sendQueueBytes: number;
  readonly writeTimeoutMs: number;
  readonly rateLimitPerSecond: number;
  readonly rateBurst: number;
  readonly maxConnections: number;
  readonly maxPerAddress: number;
  readonly maxPreLogin: number;
  readonly maxPreLoginPerAddress: number;
  readonly loginQueue: number;
  readonly hashWorkers: number;
  readonly adminPollMs: number;
  readonly shutdownGraceMs: number;
}

type Kind = 'string' | 'port' | 'count' | 'duration' | 'size' | 'cost';

interface OptionSpec {
  key: keyof ServerConfig;
  flag: string;
  env: string;
  kind: Kind;
  default: string;
  /** Smallest accepted value other than 0 (where 0 switches the limit off). */
  min?: number;
  max?: number;
  /** 0 means "off" for this option. */
  zeroDisables?: boolean;
  help: string;
}

/** The single table behind parsing, validation, --help and docs. */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: 'host', env: 'CHAT_HOST', kind: 'string', default: '0.0.0.0', help: 'address to listen on' },
  { key: 'port', flag: 'port', env: 'CHAT_PORT', kind: 'port', default: String(DEFAULT_PORT), help: 'TCP port (0 picks a free one)' },
  { key: 'dbFile', flag: 'db', env: 'CHAT_DB', kind: 'string', default: DEFAULT_DB_FILE, help: 'SQLite database file (created if missing)' },
  { key: 'busyTimeoutMs', flag: 'busy-timeout', env: 'CHAT_BUSY_TIMEOUT', kind: 'duration', default: `${DEFAULT_BUSY_TIMEOUT_MS}ms`, min: 1, max: 60_000, help: 'how long to wait for a database lock held by another process' },
  { key: 'bcryptCost', flag: 'bcrypt-cost', env: 'CHAT_BCRYPT_COST', kind: 'cost', default: String(DEFAULT_BCRYPT_COST), help: 'bcrypt cost of the dummy hash used while no user exists' },
  { key: 'maxLineBytes', flag: 'max-line', env: 'CHAT_MAX_LINE', kind: 'size', default: String(DEFAULT_MAX_LINE_BYTES), min: 256, max: 1 << 20, help: 'longest line a client may send, in bytes' },
  { key: 'preLoginMaxLineBytes', flag: 'max-login-line', env: 'CHAT_MAX_LOGIN_LINE', kind: 'size', default: '1024', min: 256, max: 1 << 20, help: 'longest line accepted before login, in bytes' },
  { key: 'maxAttempts', flag: 'max-attempts', env: 'CHAT_MAX_ATTEMPTS', kind: 'count', default: String(DEFAULT_MAX_ATTEMPTS), min: 1, max: 100, help: 'failed logins per connection before it is closed' },
  { key: 'loginTimeoutMs', flag: 'login-timeout', env: 'CHAT_LOGIN_TIMEOUT', kind: 'duration', default: '30s', zeroDisables: true, help: 'time a connection has to log in' },
  { key: 'heartbeatMs', flag: 'heartbeat', env: 'CHAT_HEARTBEAT', kind: 'duration', default: '30s', zeroDisables: true, min: 10, help: 'JSON mode: ping after this much silence; 3 missed pings end the session' },
  { key: 'idleTimeoutMs', flag: 'idle-timeout', env: 'CHAT_IDLE_TIMEOUT', kind: 'duration', default: '0', zeroDisables: true, help: 'text mode: end a session silent this long' },
  { key: 'keepAliveMs', flag: 'keepalive', env: 'CHAT_KEEPALIVE', kind: 'duration', default: '30s', zeroDisables: true, min: 1000, help: 'TCP keepalive probe delay on every socket' },
  { key: 'sendQueueBytes', flag: 'sendq', env: 'CHAT_SENDQ', kind: 'size', default: '1MiB', zeroDisables: true, min: 1024, help: 'output queued for one client before it is dropped as a slow consumer' },
  { key: 'writeTimeoutMs', flag: 'write-timeout', env: 'CHAT_WRITE_TIMEOUT', kind: 'duration', default: '15s', zeroDisables: true, help: 'a client whose pending output makes no progress this long is dropped' },
  { key: 'rateLimitPerSecond', flag: 'rate-limit', env: 'CHAT_RATE_LIMIT', kind: 'count', default: '5', zeroDisables: true, max: 1_000_000, help: 'lines per second per user after the burst' },
  { key: 'rateBurst', flag: 'rate-burst', env: 'CHAT_RATE_BURST', kind: 'count', default: '10', min: 1, max: 1_000_000, help: 'lines a user may send at once before the rate limit applies' },
  { key: 'maxConnections', flag: 'max-connections', env: 'CHAT_MAX_CONNECTIONS', kind: 'count', default: '10000', zeroDisables: true, help: 'open connections in all' },
  { key: 'maxPerAddress', flag: 'max-per-address', env: 'CHAT_MAX_PER_ADDRESS', kind: 'count', default: '50', zeroDisables: true, help: 'open connections from one client address' },
  { key: 'maxPreLogin', flag: 'max-prelogin', env: 'CHAT_MAX_PRELOGIN', kind: 'count', default: '256', zeroDisables: true, help: 'connections not logged in yet, in all (a slowloris cannot use up the server)' },
  { key: 'maxPreLoginPerAddress', flag: 'max-prelogin-per-address', env: 'CHAT_MAX_PRELOGIN_PER_ADDRESS', kind: 'count', default: '8', zeroDisables: true, help: 'connections not logged in yet from one client address' },
  { key: 'loginQueue', flag: 'login-queue', env: 'CHAT_LOGIN_QUEUE', kind: 'count', default: '256', zeroDisables: true, help: 'password checks that may wait for a worker; past it logins are told the server is busy' },
  { key: 'hashWorkers', flag: 'hash-workers', env: 'CHAT_HASH_WORKERS', kind: 'count', default: String(Math.min(availableParallelism(), 64)), min: 1, max: 64, help: 'worker threads running bcrypt (default: the number of cores)' },
  { key: 'adminPollMs', flag: 'admin-poll', env: 'CHAT_ADMIN_POLL', kind: 'duration', default: '500ms', min: 50, max: 2000, help: 'how often to look for kicks, removals and disables from chat-admin' },
  { key: 'shutdownGraceMs', flag: 'shutdown-grace', env: 'CHAT_SHUTDOWN_GRACE', kind: 'duration', default: '2s', min: 0, max: 4000, help: 'time clients get to read their goodbye on shutdown' },
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/** The longest delay a Node timer honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const SIZE = /^(\d+)(b|k|kb|kib|m|mb|mib)?$/i;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20 };

/** Parses one raw value; returns the value or a problem description. */
function parseValue(spec: OptionSpec, raw: string): number | string | { problem: string } {
  const text = raw.trim();
  let value: number;
  switch (spec.kind) {
    case 'string':
      return text.length > 0 ? text : { problem: 'must not be empty' };
    case 'port':
      value = /^\d+$/.test(text) ? Number(text) : NaN;
      return Number.isInteger(value) && value <= 65535 ? value : { problem: 'must be a port number from 0 to 65535' };
    case 'cost':
      value = /^\d+$/.test(text) ? Number(text) : NaN;
      return value >= MIN_BCRYPT_COST && value <= MAX_BCRYPT_COST ? value : { problem: `must be a whole number from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}` };
    case 'count':
      value = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(value)) return { problem: 'must be a whole number' };
      break;
    case 'duration': {
      const match = DURATION.exec(text);
      if (match === null) return { problem: 'must be a duration such as 500ms, 30s, 5m or 1h (a bare number means seconds)' };
      const exact = Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!;
      // Only an exact 0 means "off"; a tiny positive duration is at least 1 ms.
      value = exact === 0 ? 0 : Math.max(1, Math.round(exact));
      // Node timers cannot wait longer than this (longer delays fire at once).
      if (value > MAX_TIMER_MS) return { problem: `must be at most ${MAX_TIMER_MS}ms (about 24 days)` };
      break;
    }
    case 'size': {
      const match = SIZE.exec(text);
      if (match === null) return { problem: 'must be a size such as 4096, 64KiB or 1MiB' };
      value = Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]!;
      break;
    }
  }
  if (value === 0 && spec.zeroDisables === true) return 0;
  if (spec.min !== undefined && value < spec.min) return { problem: `must be at least ${spec.min}${spec.zeroDisables ? ' (or 0 for off)' : ''}` };
  if (value === 0 && spec.zeroDisables !== true && spec.min === undefined) return { problem: 'must be more than 0' };
  if (spec.max !== undefined && value > spec.max) return { problem: `must be at most ${spec.max}` };
  return value;
}

/**
 * Builds the configuration from command-line values (by flag name) and the
 * environment: flag over environment over default. Every bad value is
 * reported at once in one ConfigError.
 */
export function buildServerConfig(cli: Readonly<Record<string, string | undefined>>, env: Readonly<Record<string, string | undefined>>): ServerConfig {
  const problems: string[] = [];
  const config: Record<string, number | string> = {};
  for (const spec of SERVER_OPTIONS) {
    const fromCli = cli[spec.flag];
    const fromEnv = env[spec.env];
    const [raw, source] = fromCli !== undefined ? [fromCli, `--${spec.flag}`] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, spec.env] : [spec.default, `default of --${spec.flag}`];
    const value = parseValue(spec, raw);
    if (typeof value === 'object') problems.push(`${source} ${JSON.stringify(raw)} ${value.problem}`);
    else config[spec.key] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config as unknown as ServerConfig);
}
