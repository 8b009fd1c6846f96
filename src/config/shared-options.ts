import { DEFAULT_BCRYPT_COST } from '../accounts/passwords.js';
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_DB_FILE, DEFAULT_POOL_SIZE, MAX_POOL_SIZE } from '../store/open-store.js';
import type { OptionSpec } from './option-spec.js';
import { formatDuration } from './value-grammar.js';

/** The settings chat-server and chat-admin share: the same flag, variable and meaning in both. */
export interface SharedConfig {
  readonly dbFile: string;
  /** Milliseconds. */
  readonly busyTimeoutMs: number;
  /** PostgreSQL only: connections in the store's pool. */
  readonly dbPoolSize: number;
  /** chat-admin: cost of new hashes; chat-server: cost passwords are rehashed to at login, and of the dummy hash. */
  readonly bcryptCost: number;
  /** The message bus between instances (`redis://` URL); '' = none, a single server. */
  readonly bus: string;
  /** Prefix of every key the bus uses in Redis: deployments (or tests) sharing one Redis keep apart by it. */
  readonly busPrefix: string;
}

/**
 * Declared once for both programs. Each program appends these to its own table.
 */
export const SHARED_OPTIONS: readonly OptionSpec<keyof SharedConfig>[] = [
  {
    key: 'dbFile',
    flag: 'db',
    env: 'CHAT_DB',
    kind: 'string',
    valueName: 'path|url',
    default: DEFAULT_DB_FILE,
    help: 'the store: a SQLite database file, or a postgres:// (postgresql://) URL of an existing PostgreSQL database',
  },
  {
    key: 'dbPoolSize',
    flag: 'db-pool-size',
    env: 'CHAT_DB_POOL_SIZE',
    kind: 'count',
    default: String(DEFAULT_POOL_SIZE),
    min: 1,
    max: MAX_POOL_SIZE,
    help: `connections to PostgreSQL this process keeps open (1 to ${MAX_POOL_SIZE}); only for a postgres:// --db, SQLite always uses one`,
  },
  {
    key: 'busyTimeoutMs',
    flag: 'busy-timeout',
    env: 'CHAT_BUSY_TIMEOUT',
    kind: 'duration',
    default: formatDuration(DEFAULT_BUSY_TIMEOUT_MS),
    min: 1,
    max: 60_000,
    help: 'how long to wait for a database lock held by another process',
  },
  {
    key: 'bcryptCost',
    flag: 'bcrypt-cost',
    env: 'CHAT_BCRYPT_COST',
    kind: 'cost',
    default: String(DEFAULT_BCRYPT_COST),
    help: 'bcrypt cost (4 to 15) of new password hashes; the server rehashes a password of another cost at its next login, and uses this cost for its dummy hash',
  },
  {
    key: 'bus',
    flag: 'bus',
    env: 'CHAT_BUS',
    kind: 'redis-url',
    valueName: 'url',
    default: '',
    help: 'Redis (redis://host:port) that several chat-server instances on one database share as their message bus (docs/cluster.md); chat-admin sends kicks through it',
  },
  {
    key: 'busPrefix',
    flag: 'bus-prefix',
    env: 'CHAT_BUS_PREFIX',
    kind: 'string',
    valueName: 'prefix',
    default: 'chat:',
    help: 'prefix of every Redis key of the bus; instances of one deployment use the same one',
  },
];
