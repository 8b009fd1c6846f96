import { availableParallelism } from 'node:os';
import { ConfigError, parseOptionValue, resolveOptions, type OptionSpec as SpecOf, type OptionValue, type ValueKind } from '../config/option-spec.js';
import { SHARED_OPTIONS, type SharedConfig } from '../config/shared-options.js';
import type { Parsed } from '../config/value-grammar.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_LINE_BYTES, DEFAULT_PORT } from '../protocol/limits.js';
import { CidrError, parseCidrList } from './cidr.js';

export { ConfigError };

/** Everything chat-server can be told, validated once and frozen. Durations are in ms, sizes in bytes. */
export interface ServerConfig extends SharedConfig {
  readonly host: string;
  readonly port: number;
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
  /** Longest a busy room's broadcasts wait to be written together (0 = every event-loop turn). */
  readonly flushWindowMs: number;
  /** After this long with little allocation, one young-generation GC lets V8 shrink it (0 = never). */
  readonly idleTrimMs: number;
  readonly rateLimitPerSecond: number;
  readonly rateBurst: number;
  readonly maxConnections: number;
  readonly maxPerAddress: number;
  readonly maxPreLogin: number;
  readonly maxPreLoginPerAddress: number;
  /** Connections not logged in yet from one network (`--prefix-v4` / `--prefix-v6`). */
  readonly maxPreLoginPerPrefix: number;
  /** Prefix length that makes one IPv4 network for the pre-login caps and eviction. */
  readonly prefixV4: number;
  /** Prefix length that makes one IPv6 network for the pre-login caps and eviction. */
  readonly prefixV6: number;
  readonly loginQueue: number;
  /** Failed logins from one address within the throttle window that lock the address (0 = off). */
  readonly throttleAddressFailures: number;
  /** Failed logins for one username, from 2+ addresses, within the window that lock the username (0 = off). */
  readonly throttleUserFailures: number;
  /** Sliding window the failures are counted in (0 = no throttling at all). */
  readonly throttleWindowMs: number;
  /** First lock; each repeat lasts twice as long (0 = no throttling at all). */
  readonly throttlePenaltyMs: number;
  readonly throttleMaxPenaltyMs: number;
  /** How long a key's repeat count is remembered after its last lock ended. */
  readonly throttleMemoryMs: number;
  /** A locked username may still log in from an address it logged in from this recently (0 = no exception). */
  readonly throttleTrustMs: number;
  readonly hashWorkers: number;
  readonly adminPollMs: number;
  readonly shutdownGraceMs: number;
  /** PEM certificate file for TLS; '' = none. */
  readonly tlsCert: string;
  /** PEM private key file for TLS; '' = none. */
  readonly tlsKey: string;
  /** Make (once) and use a self-signed certificate next to the database. */
  readonly tlsSelfSigned: boolean;
  /** Refuse plain connections (needs a certificate). */
  readonly requireTls: boolean;
  /** Expect a PROXY protocol header (v1 or v2) on every connection, from the trusted proxies only. */
  readonly proxyProtocol: boolean;
  /** Comma-separated CIDR ranges allowed to send a PROXY header. */
  readonly trustedProxies: string;
  /** Comma-separated CIDR ranges never counted or locked as addresses by login throttling; '' = none. */
  readonly throttleExempt: string;
  /** How long a resume token from `login_ok` stays good (0 = resumption off: no token is given, `resume` is always refused). */
  readonly resumeTtlMs: number;
  /** Room messages replayed per login; 0 = history off (nothing stored). */
  readonly historyLimit: number;
  /** Stored messages older than this are deleted in the background. */
  readonly historyRetentionMs: number;
}

/** One bcrypt worker per core (at most 64). */
const DEFAULT_HASH_WORKERS = Math.min(availableParallelism(), 64);

type Kind = ValueKind | 'cidrs';

/** The shape shared by every program's option table (src/config/option-spec.ts). */
type OptionSpec = SpecOf<keyof ServerConfig, Kind>;

/** The single table behind parsing, validation, --help and docs. */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: 'host', env: 'CHAT_HOST', kind: 'string', default: '0.0.0.0', help: 'address to listen on' },
  { key: 'port', flag: 'port', env: 'CHAT_PORT', kind: 'port', default: String(DEFAULT_PORT), help: 'TCP port (0 picks a free one)' },
  ...SHARED_OPTIONS,
  { key: 'maxLineBytes', flag: 'max-line', env: 'CHAT_MAX_LINE', kind: 'size', default: String(DEFAULT_MAX_LINE_BYTES), min: 256, max: 1 << 20, help: 'longest line a client may send, in bytes' },
  { key: 'preLoginMaxLineBytes', flag: 'max-login-line', env: 'CHAT_MAX_LOGIN_LINE', kind: 'size', default: '1024', min: 256, max: 1 << 20, help: 'longest line accepted before login, in bytes' },
  { key: 'maxAttempts', flag: 'max-attempts', env: 'CHAT_MAX_ATTEMPTS', kind: 'count', default: String(DEFAULT_MAX_ATTEMPTS), min: 1, max: 100, help: 'failed logins per connection before it is closed' },
  { key: 'loginTimeoutMs', flag: 'login-timeout', env: 'CHAT_LOGIN_TIMEOUT', kind: 'duration', default: '30s', zeroDisables: true, help: 'time a connection has to log in' },
  { key: 'heartbeatMs', flag: 'heartbeat', env: 'CHAT_HEARTBEAT', kind: 'duration', default: '30s', zeroDisables: true, min: 10, help: 'JSON mode: ping after this much silence; 3 missed pings end the session' },
  { key: 'idleTimeoutMs', flag: 'idle-timeout', env: 'CHAT_IDLE_TIMEOUT', kind: 'duration', default: '0', zeroDisables: true, help: 'text mode: end a session silent this long' },
  { key: 'keepAliveMs', flag: 'keepalive', env: 'CHAT_KEEPALIVE', kind: 'duration', default: '30s', zeroDisables: true, min: 1000, help: 'TCP keepalive probe delay on every socket' },
  { key: 'sendQueueBytes', flag: 'sendq', env: 'CHAT_SENDQ', kind: 'size', default: '1MiB', zeroDisables: true, min: 1024, help: 'output queued for one client before it is dropped as a slow consumer' },
  { key: 'writeTimeoutMs', flag: 'write-timeout', env: 'CHAT_WRITE_TIMEOUT', kind: 'duration', default: '15s', zeroDisables: true, help: 'a client whose pending output makes no progress this long is dropped' },
  { key: 'flushWindowMs', flag: 'flush-window', env: 'CHAT_FLUSH_WINDOW', kind: 'duration', default: '4ms', zeroDisables: true, max: 100, help: 'while messages keep coming, broadcasts may wait up to this long to share one write per client (never when the server is quiet; joins and leaves alone up to 50 ms); 0 = write every event-loop turn' },
  { key: 'idleTrimMs', flag: 'idle-trim', env: 'CHAT_IDLE_TRIM', kind: 'duration', default: '5s', zeroDisables: true, min: 1000, max: 3_600_000, help: 'after this long with little JavaScript allocation, one young-generation garbage collection lets V8 give back the memory a burst grew it to (about 30 MB); 0 = never' },
  { key: 'rateLimitPerSecond', flag: 'rate-limit', env: 'CHAT_RATE_LIMIT', kind: 'count', default: '5', zeroDisables: true, max: 1_000_000, help: 'lines per second per user after the burst' },
  { key: 'rateBurst', flag: 'rate-burst', env: 'CHAT_RATE_BURST', kind: 'count', default: '10', min: 1, max: 1_000_000, help: 'lines a user may send at once before the rate limit applies' },
  { key: 'maxConnections', flag: 'max-connections', env: 'CHAT_MAX_CONNECTIONS', kind: 'count', default: '10000', zeroDisables: true, help: 'open connections in all' },
  { key: 'maxPerAddress', flag: 'max-per-address', env: 'CHAT_MAX_PER_ADDRESS', kind: 'count', default: '50', zeroDisables: true, help: 'open connections from one client address' },
  { key: 'maxPreLogin', flag: 'max-prelogin', env: 'CHAT_MAX_PRELOGIN', kind: 'count', default: '256', zeroDisables: true, help: 'connections not logged in yet, in all (a slowloris cannot use up the server)' },
  { key: 'maxPreLoginPerAddress', flag: 'max-prelogin-per-address', env: 'CHAT_MAX_PRELOGIN_PER_ADDRESS', kind: 'count', default: '8', zeroDisables: true, help: 'connections not logged in yet from one client address' },
  { key: 'maxPreLoginPerPrefix', flag: 'max-prelogin-per-prefix', env: 'CHAT_MAX_PRELOGIN_PER_PREFIX', kind: 'count', default: '64', zeroDisables: true, help: 'connections not logged in yet from one network (--prefix-v4, --prefix-v6); when all pre-login slots are taken, a newcomer from a less busy network takes the place of the oldest pending login of the busiest one' },
  { key: 'prefixV4', flag: 'prefix-v4', env: 'CHAT_PREFIX_V4', kind: 'count', default: '24', min: 8, max: 32, help: 'prefix length of one IPv4 network for the pre-login caps' },
  { key: 'prefixV6', flag: 'prefix-v6', env: 'CHAT_PREFIX_V6', kind: 'count', default: '48', min: 16, max: 128, help: 'prefix length of one IPv6 network for the pre-login caps' },
  { key: 'loginQueue', flag: 'login-queue', env: 'CHAT_LOGIN_QUEUE', kind: 'count', default: String(DEFAULT_HASH_WORKERS * 16), zeroDisables: true, help: 'password checks that may wait for a worker (default: 16 per worker, about 6 s of waiting at bcrypt cost 12); past it logins are told the server is busy' },
  { key: 'throttleAddressFailures', flag: 'throttle-address-failures', env: 'CHAT_THROTTLE_ADDRESS_FAILURES', kind: 'count', default: '10', zeroDisables: true, max: 10_000, help: 'failed logins from one client address within --throttle-window that lock the address' },
  { key: 'throttleUserFailures', flag: 'throttle-user-failures', env: 'CHAT_THROTTLE_USER_FAILURES', kind: 'count', default: '10', zeroDisables: true, max: 10_000, help: 'failed logins for one username, from 2 or more addresses, within --throttle-window that lock the username' },
  { key: 'throttleWindowMs', flag: 'throttle-window', env: 'CHAT_THROTTLE_WINDOW', kind: 'duration', default: '10m', zeroDisables: true, help: 'sliding window failed logins are counted in (0 switches login throttling off)' },
  { key: 'throttlePenaltyMs', flag: 'throttle-penalty', env: 'CHAT_THROTTLE_PENALTY', kind: 'duration', default: '1m', zeroDisables: true, help: 'first lock of an address or username; each repeat lasts twice as long (0 switches login throttling off)' },
  { key: 'throttleMaxPenaltyMs', flag: 'throttle-max-penalty', env: 'CHAT_THROTTLE_MAX_PENALTY', kind: 'duration', default: '1h', help: 'longest lock (never shorter than --throttle-penalty)' },
  { key: 'throttleMemoryMs', flag: 'throttle-memory', env: 'CHAT_THROTTLE_MEMORY', kind: 'duration', default: '24h', zeroDisables: true, help: 'how long repeat locks are remembered after the last one ended' },
  { key: 'throttleTrustMs', flag: 'throttle-trust', env: 'CHAT_THROTTLE_TRUST', kind: 'duration', default: '336h', zeroDisables: true, help: 'a locked username may still log in from an address it logged in from this recently' },
  { key: 'throttleExempt', flag: 'throttle-exempt', env: 'CHAT_THROTTLE_EXEMPT', kind: 'cidrs', default: '', help: 'addresses (CIDR, comma-separated) whose failed logins never lock the address (fail2ban ignoreip); the username lock still applies' },
  { key: 'resumeTtlMs', flag: 'resume-ttl', env: 'CHAT_RESUME_TTL', kind: 'duration', default: '24h', zeroDisables: true, min: 1000, max: 30 * 86_400_000, help: 'JSON mode: how long the resume token of login_ok stays good, so a dropped client gets back in without its password (0 or off = resumption off)' },
  { key: 'hashWorkers', flag: 'hash-workers', env: 'CHAT_HASH_WORKERS', kind: 'count', default: String(DEFAULT_HASH_WORKERS), min: 1, max: 64, help: 'worker threads running bcrypt (default: the number of cores)' },
  { key: 'adminPollMs', flag: 'admin-poll', env: 'CHAT_ADMIN_POLL', kind: 'duration', default: '500ms', min: 50, max: 2000, help: 'how often to look for kicks, removals and disables from chat-admin' },
  { key: 'shutdownGraceMs', flag: 'shutdown-grace', env: 'CHAT_SHUTDOWN_GRACE', kind: 'duration', default: '2s', min: 0, max: 4000, help: 'time clients get to read their goodbye on shutdown' },
  { key: 'historyLimit', flag: 'history', env: 'CHAT_HISTORY', kind: 'count', default: '50', zeroDisables: true, max: 1000, help: 'recent room messages replayed to each user at login; 0 = history off (nothing stored)' },
  { key: 'historyRetentionMs', flag: 'history-retention', env: 'CHAT_HISTORY_RETENTION', kind: 'duration', default: '7d', min: 1000, max: 3650 * 86_400_000, help: 'how long room messages are kept; older ones are deleted in the background' },
  { key: 'tlsCert', flag: 'tls-cert', env: 'CHAT_TLS_CERT', kind: 'path', default: '', help: 'serve TLS with this PEM certificate (with --tls-key)' },
  { key: 'tlsKey', flag: 'tls-key', env: 'CHAT_TLS_KEY', kind: 'path', default: '', help: 'PEM private key of --tls-cert' },
  { key: 'tlsSelfSigned', flag: 'tls-self-signed', env: 'CHAT_TLS_SELF_SIGNED', kind: 'flag', default: 'false', help: 'serve TLS with a self-signed certificate kept next to the database (made on first start)' },
  { key: 'requireTls', flag: 'require-tls', env: 'CHAT_REQUIRE_TLS', kind: 'flag', default: 'false', help: 'refuse plain (unencrypted) connections' },
  { key: 'proxyProtocol', flag: 'proxy-protocol', env: 'CHAT_PROXY_PROTOCOL', kind: 'flag', default: 'false', help: 'expect a PROXY protocol header (v1 or v2) from a tunnel or load balancer' },
  { key: 'trustedProxies', flag: 'trusted-proxy', env: 'CHAT_TRUSTED_PROXY', kind: 'cidrs', default: '127.0.0.0/8,::1/128', help: 'addresses (CIDR, comma-separated) allowed to send a PROXY header' },
];

/** A CIDR list, the one kind only the server has; everything else follows the shared grammar. */
function parseValue(spec: SpecOf<string, Kind>, raw: string): Parsed<OptionValue> {
  // `off` reads better than 0 for switching resumption off.
  if (spec.key === 'resumeTtlMs' && raw.trim().toLowerCase() === 'off') return 0;
  if (spec.kind !== 'cidrs') return parseOptionValue(spec, raw);
  // A list whose default is none may be empty.
  if (raw.trim() === '' && spec.default === '') return '';
  try {
    return parseCidrList(raw.trim()).ranges.join(',');
  } catch (error) {
    if (error instanceof CidrError) return { problem: `must be address ranges such as 10.0.0.0/8,::1/128: ${error.message}` };
    throw error;
  }
}

/**
 * Builds the configuration from command-line values (by flag name) and the
 * environment: flag over environment over default. Every bad value is
 * reported at once in one ConfigError.
 */
export function buildServerConfig(cli: Readonly<Record<string, string | undefined>>, env: Readonly<Record<string, string | undefined>>): ServerConfig {
  const { values: config, problems } = resolveOptions(SERVER_OPTIONS, cli, env, parseValue);
  problems.push(...tlsProblems(config as unknown as ServerConfig));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config as unknown as ServerConfig);
}

/** Options that only make sense together. */
function tlsProblems(config: Partial<ServerConfig>): string[] {
  const problems: string[] = [];
  const cert = config.tlsCert ?? '';
  const key = config.tlsKey ?? '';
  if ((cert === '') !== (key === '')) problems.push('--tls-cert and --tls-key go together: give both files');
  if (config.tlsSelfSigned === true && cert !== '') problems.push('--tls-self-signed and --tls-cert exclude each other: choose one');
  if (config.requireTls === true && cert === '' && config.tlsSelfSigned !== true) problems.push('--require-tls needs a certificate: add --tls-self-signed or --tls-cert and --tls-key');
  return problems;
}
