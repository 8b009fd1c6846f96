import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';

/**
 * What differs between the databases the store runs on. Everything
 * dialect-specific (opening, locking, transactions, error codes) lives in one
 * module per database that implements this; repositories stay plain Kysely.
 */
export interface StoreDialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * Runs `work` on one connection while holding the lock that serialises
   * migrating between processes; `work`'s failure undoes what it did.
   */
  withMigrationLock<T>(db: Kysely<any>, work: (conn: Kysely<any>) => Promise<T>): Promise<T>;
  /** Starts a transaction that will write, on a connection reserved for it. */
  beginWrite(conn: Kysely<any>): Promise<void>;
  /** Starts a read-only transaction whose reads all see one moment of the database (for copying a store that may be in use). */
  beginSnapshot(conn: Kysely<any>): Promise<void>;
  /**
   * After rows were inserted with explicit values in an auto-increment
   * column: makes the next generated id follow the largest one (PostgreSQL's
   * sequence does not see explicit values; SQLite's AUTOINCREMENT does).
   */
  afterExplicitIds(conn: Kysely<any>, table: string, column: string): Promise<void>;
  /**
   * Makes a SELECT inside a write transaction lock the rows it reads until
   * the transaction ends (PostgreSQL: FOR UPDATE, or FOR UPDATE SKIP LOCKED to
   * pass over rows another transaction holds). On SQLite it returns the query
   * as is: BEGIN IMMEDIATE already holds the database-wide write lock.
   */
  lockRows<Q extends SelectQueryBuilder<any, any, any>>(query: Q, mode?: RowLockMode): Q;
  /** Turns a driver failure a user can cause (a lock, a read-only file) into a StoreError; anything else is returned as is. */
  translateError(error: unknown, where: string): unknown;
}

/**
 * `wait`: block until another transaction's lock is released; `skip-locked`:
 * leave out rows another transaction holds; `key-share`: only keep the row
 * from being deleted (PostgreSQL FOR KEY SHARE, what a foreign key check
 * takes), so any number of transactions can hold it at once.
 */
export type RowLockMode = 'wait' | 'skip-locked' | 'key-share';

/** Kysely adapters of chat-server's dialects carry their StoreDialect, so code holding only a Kysely finds it. */
export interface AdapterWithDialect {
  readonly storeDialect: StoreDialect;
}

export function dialectOf(db: Kysely<any>): StoreDialect {
  const adapter = db.getExecutor().adapter as Partial<AdapterWithDialect>;
  if (adapter.storeDialect === undefined) throw new Error('this Kysely instance was not opened by openStore');
  return adapter.storeDialect;
}

/**
 * Runs `work` in a transaction on one connection: `begin` starts it, a
 * failure of `work` rolls it back.
 */
export async function inTransaction<T>(
  db: Kysely<any>,
  begin: (conn: Kysely<any>) => Promise<void>,
  work: (conn: Kysely<any>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    await begin(conn);
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
