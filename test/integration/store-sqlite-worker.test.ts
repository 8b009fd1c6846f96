import { writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/errors.js';
import { openStore, writeTransaction, type Store } from '../../src/store/open-store.js';
import { countUsers, findUser, insertUser, listUsers } from '../../src/store/users.js';
import { assertFreshBuild } from '../helpers/run-cli.js';
import { holdWriteLock } from '../helpers/db-lock.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

// The server's store runs its statements on a worker thread (the default
// `thread: 'worker'`); these tests drive that driver through the real store.
let dir: TempDir;
let store: Store | undefined;
beforeEach(async () => {
  assertFreshBuild(['src/store']);
  dir = await makeTempDir('chat-store-worker-');
});
afterEach(async () => {
  await store?.close();
  store = undefined;
  await dir.remove();
});

async function open(options: { busyTimeoutMs?: number } = {}): Promise<Store> {
  store = await openStore({ file: dir.file('chat.db'), create: true, ...options });
  return store;
}

const at = '2026-12-01T00:00:00.000Z';

/** The longest gap between ticks of a 5 ms timer while `work` runs: how long the event loop was blocked. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T | unknown; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 5);
  try {
    const result = await work().catch((error: unknown) => error);
    return { result, stallMs };
  } finally {
    clearInterval(timer);
  }
}

describe('the SQLite store worker', () => {
  it('runs queries: inserts with RETURNING, reads, counts, updates with affected rows', async () => {
    const { db } = await open();
    const shon = await insertUser(db, { username: 'Shon', passwordHash: 'h1', at });
    expect(shon).toMatchObject({ id: 1, username: 'Shon', username_key: 'shon', disabled: 0 });
    await insertUser(db, { username: 'ada', passwordHash: 'h2', at });
    expect((await listUsers(db)).map((u) => u.username)).toEqual(['ada', 'Shon']);
    expect(await countUsers(db)).toBe(2);
    const update = await db.updateTable('users').set({ disabled: 1 }).where('username_key', 'in', ['ada', 'shon', 'nobody']).executeTakeFirst();
    expect(update.numUpdatedRows).toBe(2n);
    const insert = await db.insertInto('audit_log').values({ ts: at, event: 'user_add', username: 'ada' }).executeTakeFirst();
    expect(insert.insertId).toBe(1n);
  });

  it('commits a write transaction, rolls back a failed one, and serialises concurrent ones on its one connection', async () => {
    const { db } = await open();
    await writeTransaction(db, async (trx) => {
      await insertUser(trx, { username: 'kept', passwordHash: 'h', at });
    });
    await expect(
      writeTransaction(db, async (trx) => {
        await insertUser(trx, { username: 'undone', passwordHash: 'h', at });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await findUser(db, 'undone')).toBeUndefined();
    // Ten at once: each BEGIN IMMEDIATE waits for the previous COMMIT (no "transaction within a transaction").
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        writeTransaction(db, async (trx) => {
          const n = await countUsers(trx);
          await insertUser(trx, { username: `u${n}`, passwordHash: 'h', at });
          return i;
        }),
      ),
    );
    expect((await listUsers(db)).map((u) => u.username).sort()).toEqual(['kept', ...Array.from({ length: 10 }, (_, i) => `u${i + 1}`)].sort());
    // Kysely's own transactions go through the same connection.
    await db.transaction().execute(async (trx) => insertUser(trx, { username: 'kysely', passwordHash: 'h', at }));
    expect(await findUser(db, 'kysely')).toBeDefined();
  });

  it('brings errors back typed: constraint violations keep their SQLite code, syntax errors their message', async () => {
    const { db } = await open();
    await insertUser(db, { username: 'shon', passwordHash: 'h', at });
    const duplicate = await insertUser(db, { username: 'SHON', passwordHash: 'h', at }).catch((error: unknown) => error);
    expect(duplicate).toBeInstanceOf(StoreError);
    expect(duplicate).toMatchObject({ code: 'USER_EXISTS' });
    const violation = await db.insertInto('users').values({ id: 1, username: 'x', username_key: 'x', password_hash: 'h', created_at: at, updated_at: at }).execute().catch((error: unknown) => error);
    expect(violation).toMatchObject({ name: 'SqliteError', code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    await expect(sql`select * from no_such_table`.execute(db)).rejects.toMatchObject({ name: 'SqliteError', code: 'SQLITE_ERROR', message: expect.stringContaining('no such table') });
    // The connection is still usable after a failure.
    expect(await countUsers(db)).toBe(1);
  });

  it('gives up on a write lock another process holds with DB_LOCKED after the busy timeout, without blocking the event loop', async () => {
    const { db } = await open({ busyTimeoutMs: 600 });
    const lock = await holdWriteLock(dir.file('chat.db'));
    try {
      const started = performance.now();
      const { result, stallMs } = await longestStall(() => writeTransaction(db, (trx) => insertUser(trx, { username: 'late', passwordHash: 'h', at })));
      const waitedMs = performance.now() - started;
      expect(result).toBeInstanceOf(StoreError);
      expect(result).toMatchObject({ code: 'DB_LOCKED', cause: { code: expect.stringMatching(/^SQLITE_BUSY/) } });
      expect(waitedMs).toBeGreaterThanOrEqual(500);
      expect(waitedMs).toBeLessThan(5000);
      // Inline better-sqlite3 would block the loop for the whole 600 ms busy wait.
      expect(stallMs).toBeLessThan(200);
      // Reads are not blocked by another process's write lock (WAL).
      expect(await countUsers(db)).toBe(0);
    } finally {
      await lock.release();
    }
    await insertUser(db, { username: 'late', passwordHash: 'h', at });
    expect(await countUsers(db)).toBe(1);
  });

  it('refuses a file that is not a database with DB_NOT_A_DATABASE, and a missing one unless asked to create it', async () => {
    writeFileSync(dir.file('notes.db'), 'this is not SQLite, just text that is long enough to hold a header.'.repeat(10));
    await expect(openStore({ file: dir.file('notes.db'), create: false })).rejects.toMatchObject({ code: 'DB_NOT_A_DATABASE' });
    await expect(openStore({ file: dir.file('absent.db'), create: false })).rejects.toMatchObject({ code: 'DB_NOT_FOUND' });
  });

  it('closes cleanly: statements queued before close finish, then the thread ends and the store refuses more', async () => {
    const opened = await open();
    const { db } = opened;
    const inFlight = Promise.all(Array.from({ length: 20 }, (_, i) => insertUser(db, { username: `c${i}`, passwordHash: 'h', at })));
    const closing = opened.close();
    await expect(inFlight).resolves.toHaveLength(20);
    await closing;
    store = undefined;
    await expect(countUsers(db)).rejects.toThrow('destroyed');
    const reopened = await open();
    expect(await countUsers(reopened.db)).toBe(20);
  });
});
