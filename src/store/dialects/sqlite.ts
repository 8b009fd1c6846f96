import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteAdapter, SqliteDialect, sql, type DialectAdapter } from 'kysely';
import { StoreError } from '../errors.js';
import type { Database } from '../schema.js';
import { inTransaction, type AdapterWithDialect, type StoreDialect } from './dialect.js';
import { applySqlitePragmas } from './sqlite-protocol.js';
import { SqliteWorker, SqliteWorkerDialect } from './sqlite-worker-driver.js';

/**
 * SQLite: one file shared by every process on the host. Writers are
 * serialised by SQLite's database-wide write lock; a statement waits up to
 * the busy timeout for it.
 */
export const sqliteDialect: StoreDialect = {
  name: 'sqlite',
  // BEGIN IMMEDIATE takes the write lock before the first read, so a second
  // process waits (up to the busy timeout) until the first has committed its
  // migrations, then finds them applied. SQLite's DDL is transactional: a
  // failed migration leaves nothing behind.
  withMigrationLock: (db, work) => inTransaction(db, beginImmediate, work),
  beginWrite: (conn) => beginImmediate(conn),
  // A deferred transaction's snapshot begins at its first read (WAL: writers go on meanwhile).
  beginSnapshot: async (conn) => {
    await sql`begin`.execute(conn);
  },
  // AUTOINCREMENT keeps the largest id ever inserted, explicit ones included, in sqlite_sequence.
  afterExplicitIds: async () => undefined,
  // SQLite has no row locks (and no FOR UPDATE): a write transaction's BEGIN IMMEDIATE already excludes every other writer.
  lockRows: (query) => query,
  translateError: (error, where) => translateSqliteError(error, where),
};

/** IMMEDIATE: the write lock is taken up front, so two processes never deadlock upgrading a read lock. */
async function beginImmediate(conn: Kysely<any>): Promise<void> {
  await sql`begin immediate`.execute(conn);
}

class ChatSqliteAdapter extends SqliteAdapter implements AdapterWithDialect {
  readonly storeDialect = sqliteDialect;
}

class ChatSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new ChatSqliteAdapter();
  }
}

export interface SqliteOpenOptions {
  /** Absolute path of the file. */
  file: string;
  create: boolean;
  busyTimeoutMs: number;
  /** `worker`: statements run on a store worker thread (the server); `inline`: on the calling thread (chat-admin). */
  thread: 'worker' | 'inline';
}

/**
 * Opens the file with the pragmas every process needs to share it. A missing
 * file is refused unless `create`. Failures a user can cause come back as
 * StoreErrors; on the worker, so does every statement's.
 */
export async function openSqlite(options: SqliteOpenOptions): Promise<Kysely<Database>> {
  const { file } = options;
  if (!existsSync(file)) {
    if (!options.create) throw new StoreError('DB_NOT_FOUND', `no such database: ${file}`);
    if (!existsSync(dirname(file))) {
      throw new StoreError('DB_NOT_FOUND', `cannot create database ${file}: folder ${dirname(file)} does not exist`);
    }
  }
  const translate = (error: unknown): unknown => translateSqliteError(error, file);
  if (options.thread === 'worker') {
    const worker = await SqliteWorker.open({ file, busyTimeoutMs: options.busyTimeoutMs }, translate);
    return new Kysely<Database>({ dialect: new SqliteWorkerDialect(worker, () => new ChatSqliteAdapter()) });
  }
  // Loaded only here: the server opens SQLite on its worker thread, and its main thread never needs the addon.
  const { default: Sqlite } = await import('better-sqlite3');
  let raw: SqliteDatabase.Database;
  try {
    raw = new Sqlite(file, { timeout: options.busyTimeoutMs });
  } catch (error) {
    throw translate(error);
  }
  try {
    applySqlitePragmas(raw);
  } catch (error) {
    raw.close();
    throw translate(error);
  }
  return new Kysely<Database>({ dialect: new ChatSqliteDialect({ database: raw }) });
}

/** better-sqlite3 puts SQLite's extended result code on `code` (for example `SQLITE_BUSY`). */
export function sqliteCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
  }
  return undefined;
}

/**
 * Turns low-level SQLite failures that a user can cause (a locked file, a file
 * that is not a database) into StoreErrors; anything else is returned as is.
 */
export function translateSqliteError(error: unknown, file: string): unknown {
  if (error instanceof StoreError) return error;
  const code = sqliteCode(error);
  if (code === undefined) return error;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError('DB_LOCKED', `database ${file} is locked by another process (gave up after the busy timeout)`, { cause: error });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StoreError('DB_NOT_A_DATABASE', `${file} is not a chat-server database (the file is not SQLite or is corrupt)`, { cause: error });
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreError('DB_READ_ONLY', `database ${file} is read-only`, { cause: error });
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new StoreError('DB_OPEN_FAILED', `cannot open database ${file}`, { cause: error });
  }
  return error;
}
