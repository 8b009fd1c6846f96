import pg from 'pg';
import {
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresDriver,
  sql,
  type CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { redactUrl } from '../../util/redact-url.js';
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
  lockRows: (query, mode = 'wait') => (mode === 'wait' ? query.forUpdate() : mode === 'key-share' ? query.forKeyShare() : query.forUpdate().skipLocked()) as typeof query,
  translateError: (error, where) => translatePostgresError(error, where),
};

class ChatPostgresAdapter extends PostgresAdapter implements AdapterWithDialect {
  readonly storeDialect = postgresDialect;
}

class ChatPostgresDialect extends PostgresDialect {
  constructor(
    private readonly pool: pg.Pool,
    private readonly where: string,
  ) {
    super({ pool });
  }

  override createAdapter(): DialectAdapter {
    return new ChatPostgresAdapter();
  }

  override createDriver(): Driver {
    return new TranslatingDriver(new PostgresDriver({ pool: this.pool }), (error) => translatePostgresError(error, this.where));
  }
}

/**
 * Every failure of every statement comes back translated, as on the SQLite
 * worker: a dropped connection or a database that refuses connections is
 * DB_UNAVAILABLE (which the session-end writer retries), a lock wait past
 * lock_timeout DB_LOCKED, whatever the caller was doing.
 */
class TranslatingDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly translate: (error: unknown) => unknown,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    try {
      return new TranslatingConnection(await this.inner.acquireConnection(), this.translate);
    } catch (error) {
      throw this.translate(error);
    }
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#translated(this.inner.beginTransaction(innerOf(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#translated(this.inner.commitTransaction(innerOf(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#translated(this.inner.rollbackTransaction(innerOf(connection)));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(innerOf(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }

  async #translated(work: Promise<void>): Promise<void> {
    try {
      await work;
    } catch (error) {
      throw this.translate(error);
    }
  }
}

class TranslatingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly translate: (error: unknown) => unknown,
  ) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(compiledQuery);
    } catch (error) {
      throw this.translate(error);
    }
  }

  streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(compiledQuery, chunkSize);
  }
}

function innerOf(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TranslatingConnection ? connection.inner : connection;
}



export interface PostgresOpenOptions {
  url: string;
  poolSize: number;
  /** How long a statement may wait for a lock before failing (lock_timeout), like SQLite's busy timeout. */
  lockTimeoutMs: number;
}

const INT8_OID = 20;
/**
 * pg's parsers, except bigint (counts, `audit_log.duration_ms`) as a number
 * as SQLite gives it, not pg's default string: what this store keeps in a
 * bigint stays far below 2^53.
 */
function chatTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === INT8_OID && format !== 'binary') return Number;
  return pg.types.getTypeParser(oid, format as 'text');
}

/** Opens a pool on `url` and checks that the server answers. */
export async function openPostgres(options: PostgresOpenOptions): Promise<Kysely<Database>> {
  const where = redactUrl(options.url);
  if (!URL.canParse(options.url)) throw new StoreError('DB_OPEN_FAILED', `not a valid PostgreSQL URL: ${where} (expected postgres://user@host:port/database)`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    // Also how long a statement waits for a free pooled connection: as long as it may wait for a lock, and then some.
    connectionTimeoutMillis: Math.round(options.lockTimeoutMs) + 5000,
    options: `-c lock_timeout=${Math.round(options.lockTimeoutMs)}`,
    types: { getTypeParser: chatTypeParser as typeof pg.types.getTypeParser },
  });
  // An idle pooled connection that the server drops must not crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw translatePostgresError(error, where, 'open');
  }
  return new Kysely<Database>({ dialect: new ChatPostgresDialect(pool, where) });
}

/** PostgreSQL's SQLSTATE (or Node's errno code for a connection that failed). */
export function postgresCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Connection failures that pass by themselves (a restart, a failover, a database that refuses connections for a while). */
const UNAVAILABLE_ERRNOS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** 57P01 admin_shutdown (also pg_terminate_backend), 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections. */
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300']);
/** What pg says, without a code, when a connection goes away or none comes in time. */
const UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/** Whether the failure is "the database cannot be reached right now", as opposed to a refusal of the statement. */
function isUnavailable(code: string | undefined, message: string): boolean {
  if (code === undefined) return UNAVAILABLE_MESSAGES.test(message);
  if (UNAVAILABLE_ERRNOS.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
  // 55000 is object_not_in_prerequisite_state in general; at connect it is ALLOW_CONNECTIONS false.
  return code === '55000' && /not currently accepting connections/.test(message);
}

/**
 * `open`: failing to reach the database while opening is DB_OPEN_FAILED (the
 * process reports it and stops); afterwards the same failure is
 * DB_UNAVAILABLE, which callers treat as temporary.
 */
export function translatePostgresError(error: unknown, where: string, phase: 'open' | 'use' = 'use'): unknown {
  if (error instanceof StoreError) return error;
  const code = postgresCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === '55P03' || code === '40P01') {
    return new StoreError('DB_LOCKED', `database ${where} is locked by another session (gave up after the lock timeout)`, { cause: error });
  }
  if (code === '25006') return new StoreError('DB_READ_ONLY', `database ${where} is read-only`, { cause: error });
  if (code === '3D000') return new StoreError('DB_NOT_FOUND', `no such database: ${where}`, { cause: error });
  if (isUnavailable(code, message)) {
    const why = code ?? message;
    if (phase === 'open') return new StoreError('DB_OPEN_FAILED', `cannot reach database ${where} (${why})`, { cause: error });
    return new StoreError('DB_UNAVAILABLE', `database ${where} is unavailable (${why})`, { cause: error });
  }
  if (code === '28P01' || code === '28000') return new StoreError('DB_OPEN_FAILED', `cannot log in to database ${where} (${code})`, { cause: error });
  return error;
}
