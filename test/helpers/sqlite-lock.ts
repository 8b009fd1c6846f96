import { holdWriteLock as hold, type HeldLock } from '../../bench/sqlite-lock.js';
import { assertFreshBuild } from './run-cli.js';

export { isWriteLocked, type HeldLock } from '../../bench/sqlite-lock.js';

/** Another real process holding the SQLite write lock on `file` (see bench/sqlite-lock.ts), until released or `holdMs`. */
export function holdWriteLock(file: string, holdMs = 60_000): Promise<HeldLock> {
  assertFreshBuild(['bench/sqlite-lock-holder.ts']);
  return hold(file, holdMs);
}
