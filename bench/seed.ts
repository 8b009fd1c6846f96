/** Seeds a bench's SQLite database with users, with this checkout's store code or that of another build. */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hashPassword } from '../src/accounts/passwords.js';
import { openStore, writeTransaction } from '../src/store/open-store.js';
import { insertUser } from '../src/store/users.js';

/** Users sharing one password, hashed at one cost. */
export interface SeedGroup {
  readonly usernames: readonly string[];
  readonly password: string;
  readonly cost: number;
}

interface StoreModules {
  openStore: typeof openStore;
  writeTransaction: typeof writeTransaction;
  insertUser: typeof insertUser;
}

/**
 * With `build` (a built checkout, the benches' --server-build), the database
 * is made by that build's own store code, so it has that build's migrations:
 * a server refuses a store with migrations it does not know (an older build
 * against this checkout's).
 */
async function storeModules(build: string | undefined): Promise<StoreModules> {
  if (build === undefined) return { openStore, writeTransaction, insertUser };
  const load = (path: string) => import(pathToFileURL(join(build, 'dist', 'src', 'store', path)).href);
  const [storeModule, usersModule] = await Promise.all([load('open-store.js'), load('users.js')]);
  return { openStore: storeModule.openStore, writeTransaction: storeModule.writeTransaction, insertUser: usersModule.insertUser };
}

/** Creates `file` with every group's users, in one transaction. */
export async function seedUsers(file: string, groups: readonly SeedGroup[], build?: string): Promise<void> {
  const modules = await storeModules(build);
  const store = await modules.openStore({ file, create: true });
  try {
    // One hash per group, shared by every user in it: hashing thousands separately would take minutes.
    const hashes = await Promise.all(groups.map((group) => hashPassword(group.password, group.cost)));
    const at = new Date().toISOString();
    await modules.writeTransaction(store.db, async (trx) => {
      for (const [i, group] of groups.entries()) for (const username of group.usernames) await modules.insertUser(trx, { username, passwordHash: hashes[i]!, at });
    });
  } finally {
    await store.close();
  }
}
