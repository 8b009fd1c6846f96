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

let probe: Promise<boolean> | undefined;

/**
 * Whether PostgreSQL is reachable, asked once per test file, only by files
 * that run on it (`const withPostgres = await postgresReady()` at the top):
 * a file that only imports the fixtures never probes.
 */
export function postgresReady(): Promise<boolean> {
  probe ??= postgresAvailable();
  return probe;
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
