/**
 * Another process holding the write lock on a chat database, as an admin
 * script, a backup or a `sqlite3` shell left in a transaction would. One
 * implementation for the tests and the bench: bench/sqlite-lock.ts.
 */
import { holdWriteLock as hold, type HeldLock } from '../../bench/sqlite-lock.js';
import { assertFreshBuild } from './run-cli.js';

export { isWriteLocked, type HeldLock } from '../../bench/sqlite-lock.js';

/** Takes the database's write lock in another process (node + better-sqlite3, BEGIN IMMEDIATE); resolves once it is held. */
export function holdWriteLock(dbFile: string, holdMs = 60_000): Promise<HeldLock> {
  assertFreshBuild(['bench/sqlite-lock-holder.ts']);
  return hold(dbFile, holdMs);
}
