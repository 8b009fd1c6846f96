import pg from 'pg';
import { Kysely, PostgresAdapter, PostgresDialect, sql, type DialectAdapter } from 'kysely';
import { StoreError } from '../errors.js';
import type { Database } from '../schema.js';
import type { AdapterWithDialect, StoreDialect } from './dialect.js';

/**
 * PostgreSQL: a pool of connections, READ COMMITTED. There is no
 * database-wide write lock: correctness comes from unique indexes, atomic
 * statements (upserts) and row locks, never from "only one writer at a time".
 */

/** Kysely's own migration lock id, so that our lock and the Migrator's are one advisory lock (re-entrant per session). */
const MIGRATION_LOCK_ID = sql.lit(BigInt('3853314791062309107'));

export const postgresDialect: StoreDialect = {
  name: 'postgres',
  // A session-level advisory lock on one pooled connection; the check and
  // the Migrator (which takes the same lock again and runs in a transaction,
  // PostgreSQL's DDL being transactional) run on that connection.
  withMigrationLock: (db, work) =>
    db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
      try {
        return await work(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
      }
    }),
  // READ COMMITTED: the statements inside hold row locks as they write; the
  // repositories' writes are single atomic statements or guarded by unique keys.
  beginWrite: async (conn) => {
    await sql`begin`.execute(conn);
  },
  // REPEATABLE READ: every statement of the transaction sees the snapshot of its first.
  beginSnapshot: async (conn) => {
    await sql`begin isolation level repeatable read read only`.execute(conn);
  },
  afterExplicitIds: async (conn, table, column) => {
    // setval(..., false): the next nextval() returns exactly max + 1 (1 on an empty table).
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}), coalesce((select max(${sql.ref(column)}) from ${sql.table(table)}), 0) + 1, false)`.execute(conn);
  },
  lockRows: (query, mode = 'wait') => (mode === 'wait' ? query.forUpdate() : query.forUpdate().skipLocked()) as typeof query,
  translateError: (error, where) => translatePostgresError(error, where),
};

class ChatPostgresAdapter extends PostgresAdapter implements AdapterWithDialect {
  readonly storeDialect = postgresDialect;
}

class ChatPostgresDialect extends PostgresDialect {
  override createAdapter(): DialectAdapter {
    return new ChatPostgresAdapter();
  }
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@');
  }
}

export interface PostgresOpenOptions {
  url: string;
  poolSize: number;
  /** How long a statement may wait for a lock before failing (lock_timeout), like SQLite's busy timeout. */
  lockTimeoutMs: number;
}

/** Opens a pool on `url` and checks that the server answers. */
export async function openPostgres(options: PostgresOpenOptions): Promise<Kysely<Database>> {
  const where = redactUrl(options.url);
  if (!URL.canParse(options.url)) throw new StoreError('DB_OPEN_FAILED', `not a valid PostgreSQL URL: ${where} (expected postgres://user@host:port/database)`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: 5000,
    options: `-c lock_timeout=${Math.round(options.lockTimeoutMs)}`,
  });
  // An idle pooled connection that the server drops must not crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw translatePostgresError(error, where);
  }
  return new Kysely<Database>({ dialect: new ChatPostgresDialect({ pool }) });
}

/** PostgreSQL's SQLSTATE (or Node's errno code for a connection that failed). */
export function postgresCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export function translatePostgresError(error: unknown, where: string): unknown {
  if (error instanceof StoreError) return error;
  const code = postgresCode(error);
  if (code === undefined) return error;
  if (code === '55P03' || code === '40P01') {
    return new StoreError('DB_LOCKED', `database ${where} is locked by another session (gave up after the lock timeout)`, { cause: error });
  }
  if (code === '25006') return new StoreError('DB_READ_ONLY', `database ${where} is read-only`, { cause: error });
  if (code === '3D000') return new StoreError('DB_NOT_FOUND', `no such database: ${where}`, { cause: error });
  if (['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', '28P01', '28000', '57P01', '57P03'].includes(code) || code.startsWith('08')) {
    return new StoreError('DB_OPEN_FAILED', `cannot reach database ${where} (${code})`, { cause: error });
  }
  return error;
}
