import { sql, type Kysely } from 'kysely';
import { inTransaction } from './dialects/dialect.js';
import { StoreError } from './errors.js';
import { writeTransaction, type Store } from './open-store.js';
import type { Database } from './schema.js';

/**
 * What `chat-admin store copy` moves, table by table: everything a
 * deployment must keep (accounts with their hashes as they are, login
 * throttles, the audit log, the room history, resume tokens), with its primary keys, so
 * audit ids and times stay what they were. The live tables are the state of
 * running servers, rebuilt when they start: copying them would only carry
 * sessions of servers that are not there.
 *
 * A table of a newer migration that is in neither list makes the copy refuse
 * (test/integration/store-copy-tables.test.ts keeps the lists complete).
 */
export const COPIED_TABLES = {
  users: { key: ['id'], autoIncrement: 'id' },
  login_throttles: { key: ['kind', 'key'] },
  audit_log: { key: ['id'], autoIncrement: 'id' },
  messages: { key: ['id'] },
  // After users (its user_id refers to them, ids kept): a client whose server stopped for the move resumes on the new store.
  resume_tokens: { key: ['token_hash'] },
} as const satisfies Partial<Record<keyof Database, { key: readonly string[]; autoIncrement?: string }>>;

export type CopiedTable = keyof typeof COPIED_TABLES;

export const LIVE_TABLES: ReadonlyArray<keyof Database> = ['sessions', 'instances', 'session_takeovers'];

export type CopyCounts = Record<CopiedTable, number>;

/** Rows per read and per insert: well under SQLite's and PostgreSQL's bound-parameter limits at 14 columns. */
export const COPY_BATCH = 500;

/**
 * Copies every row of the copied tables from `source` into `target`, which
 * must hold none of them (its migrations are already applied by openStore).
 * The source is read in one snapshot (a read transaction), the target
 * written in one write transaction: a failure leaves the target as empty as
 * it was. On PostgreSQL the id sequences are moved past the copied ids.
 */
export async function copyStore(source: Store, target: Store, batch = COPY_BATCH): Promise<CopyCounts> {
  await assertKnownTables(source);
  return inTransaction(source.db, source.dialect.beginSnapshot, (from) =>
    writeTransaction(target.db, async (to) => {
      await assertEmpty(to, target.file);
      const counts = {} as CopyCounts;
      for (const [table, spec] of Object.entries(COPIED_TABLES) as Array<[CopiedTable, (typeof COPIED_TABLES)[CopiedTable]]>) {
        counts[table] = await copyTable(from, to, table, spec.key, batch);
        if ('autoIncrement' in spec) await target.dialect.afterExplicitIds(to, table, spec.autoIncrement);
      }
      return counts;
    }),
  );
}

/** Keyset pages in primary-key order: each page costs the same however far into the table it is. */
async function copyTable(from: Kysely<any>, to: Kysely<any>, table: string, key: readonly string[], batch: number): Promise<number> {
  let copied = 0;
  let last: unknown[] | undefined;
  for (;;) {
    let query = from.selectFrom(table).selectAll();
    if (last !== undefined) {
      const after = last;
      query =
        key.length === 1
          ? query.where(key[0]!, '>', after[0])
          : query.where(({ eb, refTuple, tuple }) => eb(refTuple(key[0]!, key[1]!), '>', tuple(after[0], after[1])));
    }
    for (const column of key) query = query.orderBy(column);
    const rows = (await query.limit(batch).execute()) as Array<Record<string, unknown>>;
    if (rows.length === 0) return copied;
    await to.insertInto(table).values(rows).execute();
    copied += rows.length;
    const tail = rows[rows.length - 1]!;
    last = key.map((column) => tail[column]);
    if (rows.length < batch) return copied;
  }
}

async function assertEmpty(db: Kysely<any>, where: string): Promise<void> {
  for (const table of Object.keys(COPIED_TABLES)) {
    const row = await db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    const n = Number(row.n);
    if (n > 0) {
      throw new StoreError('DB_NOT_EMPTY', `target ${where} is not empty (${n} ${table === 'users' ? 'users' : `rows in ${table}`}); store copy only fills a new, empty store`);
    }
  }
}

async function assertKnownTables(store: Store): Promise<void> {
  const known = new Set<string>([...Object.keys(COPIED_TABLES), ...LIVE_TABLES]);
  const tables = await store.db.introspection.getTables();
  const unknown = tables.map((table) => table.name).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new StoreError('DB_SCHEMA_TOO_NEW', `store copy does not know table ${unknown[0]} of ${store.file}; upgrade this program`);
  }
}
