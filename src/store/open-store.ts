import { resolve } from 'node:path';
import { Migrator, sql, type Kysely, type MigrationProvider } from 'kysely';
import { migrations } from '../../migrations/index.js';
import { dialectOf, inTransaction, type StoreDialect } from './dialects/dialect.js';
import { isPostgresUrl } from './dialects/postgres-url.js';
import { redactUrl } from '../util/redact-url.js';
import { openSqlite } from './dialects/sqlite.js';
import { StoreError } from './errors.js';
import type { Database } from './schema.js';

export const DEFAULT_DB_FILE = './chat.db';
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
export const DEFAULT_POOL_SIZE = 10;
/** PostgreSQL's own default max_connections is 100, shared by every instance and chat-admin. */
export const MAX_POOL_SIZE = 100;

export interface OpenStoreOptions {
  /** Path of the SQLite file, or a `postgres://` / `postgresql://` URL. */
  file: string;
  /** PostgreSQL only: connections in the pool. */
  poolSize?: number;
  /** Create the file when it does not exist (the server does; most admin verbs do not). */
  create: boolean;
  /** How long a statement waits for another process's lock before failing with DB_LOCKED. */
  busyTimeoutMs?: number;
  /**
   * Where statements run. `worker` (the default, for the server): on a store
   * worker thread, so a statement waiting for another process's lock never
   * stalls the event loop. `inline`: on the calling thread, for a short-lived
   * process with nothing else to serve (chat-admin).
   */
  thread?: 'worker' | 'inline';
}

/**
 * Where files that belong with a store on this host go (the server's spool of
 * unwritten session ends, its self-signed certificate), as a path prefix:
 * the SQLite file itself, or for PostgreSQL `chat-<host>-<port>-<database>` in
 * the working directory (a URL is no place on disk).
 */
export function storeLocalBase(location: string): string {
  if (!isPostgresUrl(location)) return resolve(location);
  let name = 'chat-postgres';
  if (URL.canParse(location)) {
    const url = new URL(location);
    name = `chat-${url.hostname || 'localhost'}-${url.port || '5432'}-${decodeURIComponent(url.pathname.slice(1)) || 'postgres'}`;
  }
  return resolve(name.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** The store as messages and logs may name it: the absolute file, or the URL without its password. */
export function describeStoreLocation(location: string): string {
  return isPostgresUrl(location) ? redactUrl(location) : resolve(location);
}

export interface Store {
  readonly db: Kysely<Database>;
  /** Absolute path of the database file, or the PostgreSQL URL without its password. */
  readonly file: string;
  /** storeLocalBase of the location: a path prefix for this store's files on this host. */
  readonly localBase: string;
  readonly dialect: StoreDialect;
  /** Turns a driver failure a user can cause (a lock held past the busy timeout) into a StoreError naming this store. */
  translateError(error: unknown): unknown;
  close(): Promise<void>;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Opens (or creates) the database and applies pending migrations, one
 * process at a time. A schema newer than this program is refused before
 * anything is written.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const postgres = isPostgresUrl(options.file);
  const file = postgres ? redactUrl(options.file) : resolve(options.file);
  const db = postgres
    ? // Loaded only here: a server on SQLite never loads pg.
      await (await import('./dialects/postgres.js')).openPostgres({ url: options.file, poolSize: options.poolSize ?? DEFAULT_POOL_SIZE, lockTimeoutMs: busyTimeoutMs })
    : await openSqlite({ file, create: options.create, busyTimeoutMs, thread: options.thread ?? 'worker' });
  const dialect = dialectOf(db);
  const store: Store = {
    db,
    file,
    localBase: storeLocalBase(options.file),
    dialect,
    translateError: (error) => dialect.translateError(error, file),
    close: () => db.destroy(),
  };
  try {
    await migrate(db, dialect, file);
  } catch (error) {
    await store.close();
    throw store.translateError(error);
  }
  return store;
}

/**
 * Checks without a lock first, so that opening an up-to-date store (every
 * admin verb, every server start) never waits for another writer; only
 * pending migrations take the migration lock, and are looked up again under
 * it, since another process may have applied them meanwhile.
 */
async function migrate(db: Kysely<Database>, dialect: StoreDialect, where: string): Promise<void> {
  if (await isUpToDate(db, where)) return;
  await dialect.withMigrationLock(db, async (conn) => {
    if (await isUpToDate(conn, where)) return;
    const { error } = await new Migrator({ db: conn, provider }).migrateToLatest();
    if (error !== undefined) throw error;
  });
}

/** Whether every migration is applied; throws DB_SCHEMA_TOO_NEW if the store has one this program does not know. */
async function isUpToDate(db: Kysely<any>, where: string): Promise<boolean> {
  const known = new Set(Object.keys(migrations));
  const applied = await appliedMigrations(db);
  const unknown = applied.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new StoreError(
      'DB_SCHEMA_TOO_NEW',
      `database ${where} was written by a newer chat-server (unknown migration ${unknown[0]}); upgrade this program`,
    );
  }
  return applied.length === known.size;
}

async function appliedMigrations(db: Kysely<any>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((table) => table.name === 'kysely_migration')) return [];
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.rows.map((row) => row.name);
}

/**
 * Runs `work` in a write transaction on one connection (on SQLite, BEGIN
 * IMMEDIATE: the write lock is taken up front).
 */
export async function writeTransaction<T>(db: Kysely<Database>, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return inTransaction(db, dialectOf(db).beginWrite, work);
}
