import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type MigrationProvider } from 'kysely';
import { migrations } from '../../migrations/index.js';
import { StoreError, translateSqliteError } from './errors.js';
import type { Database } from './schema.js';

export const DEFAULT_DB_FILE = './chat.db';
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export interface OpenStoreOptions {
  /** Path of the SQLite file. */
  file: string;
  /** Create the file when it does not exist (the server does; most admin verbs do not). */
  create: boolean;
  /** How long a statement waits for another process's lock before failing with DB_LOCKED. */
  busyTimeoutMs?: number;
}

export interface Store {
  readonly db: Kysely<Database>;
  /** Absolute path of the database file. */
  readonly file: string;
  close(): Promise<void>;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Opens (or creates) the database, sets the pragmas every process needs to
 * share one file (WAL, busy timeout, foreign keys), and applies pending
 * migrations. A schema newer than this program is refused before anything is
 * written.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const file = resolve(options.file);
  if (!existsSync(file)) {
    if (!options.create) {
      throw new StoreError('DB_NOT_FOUND', `no such database: ${file}`);
    }
    if (!existsSync(dirname(file))) {
      throw new StoreError('DB_NOT_FOUND', `cannot create database ${file}: folder ${dirname(file)} does not exist`);
    }
  }
  let raw: SqliteDatabase.Database;
  try {
    raw = new SqliteDatabase(file, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (error) {
    throw translateSqliteError(error, file);
  }
  try {
    // journal_mode reads the header first, so a non-SQLite file fails here, before any write.
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
  } catch (error) {
    raw.close();
    throw translateSqliteError(error, file);
  }

  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const store: Store = {
    db,
    file,
    close: async () => {
      await db.destroy();
    },
  };
  try {
    await migrate(db, file);
  } catch (error) {
    await store.close();
    throw translateSqliteError(error, file);
  }
  return store;
}

async function migrate(db: Kysely<Database>, file: string): Promise<void> {
  const known = new Set(Object.keys(migrations));
  const applied = await appliedMigrations(db);
  const unknown = applied.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new StoreError(
      'DB_SCHEMA_TOO_NEW',
      `database ${file} was written by a newer chat-server (unknown migration ${unknown[0]}); upgrade this program`,
    );
  }
  if (applied.length === known.size) return;
  const migrator = new Migrator({ db, provider });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}

async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  const table = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'kysely_migration'`.execute(db);
  if (table.rows.length === 0) return [];
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.rows.map((row) => row.name);
}

/**
 * Runs `work` in a write transaction that takes the write lock up front
 * (BEGIN IMMEDIATE), so two processes never deadlock upgrading a read lock.
 */
export async function writeTransaction<T>(db: Kysely<Database>, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await work(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
  });
}
