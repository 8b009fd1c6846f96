import { createTestDatabase, postgresAvailable } from './postgres.js';
import { makeTempDir } from './temp-dir.js';

/**
 * Where a test's store lives, per dialect: a SQLite file in a temp folder of
 * its own, or a PostgreSQL database of its own on CHAT_TEST_POSTGRES. Tests
 * that exercise the store run once per kind (`describe.each(STORE_KINDS)`),
 * the PostgreSQL half skipped (one line naming what to start) where
 * `withPostgres` is false.
 */
export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

export interface StoreTarget {
  readonly kind: StoreKind;
  /** What `--db` / `CHAT_DB` takes: a file path (not created yet) or a URL of an empty database. */
  readonly location: string;
  /** A folder of the test's own (for spool files, other files); for SQLite, the database's folder. */
  readonly dir: string;
  remove(): Promise<void>;
}

/** Whether PostgreSQL is reachable (awaited once per test file that imports this). */
export const withPostgres = await postgresAvailable();

/** Skip a PostgreSQL describe where no server is reachable. */
export function skipKind(kind: StoreKind): boolean {
  return kind === 'postgres' && !withPostgres;
}

export async function createStoreTarget(kind: StoreKind): Promise<StoreTarget> {
  const dir = await makeTempDir(`chat-${kind}-`);
  if (kind === 'sqlite') return { kind, location: dir.file('chat.db'), dir: dir.path, remove: () => dir.remove() };
  try {
    const db = await createTestDatabase();
    return {
      kind,
      location: db.url,
      dir: dir.path,
      remove: async () => {
        await db.drop();
        await dir.remove();
      },
    };
  } catch (error) {
    await dir.remove();
    throw error;
  }
}
