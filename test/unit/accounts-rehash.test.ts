import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/accounts/hash-pool.js';
import { bcryptCostOf, comparePassword, hashPassword } from '../../src/accounts/passwords.js';
import { DummyHashes, rehashIfOutdated } from '../../src/accounts/verify-credentials.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { findUser, insertUser, setPasswordHash } from '../../src/store/users.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

/** The real bcrypt, on this thread (a test needs no worker pool). */
const hasher: PasswordHasher = {
  compare: comparePassword,
  hash: hashPassword,
  pending: 0,
  saturated: false,
  close: async () => undefined,
};

let dir: TempDir;
let store: Store;

beforeEach(async () => {
  dir = await makeTempDir();
  store = await openStore({ file: dir.file('chat.db'), create: true });
});

afterEach(async () => {
  await store.close();
  await dir.remove();
});

async function userAtCost(cost: number, password = 'secret-pw') {
  await insertUser(store.db, { username: 'shon', passwordHash: await hashPassword(password, cost), at: new Date().toISOString() });
  return (await findUser(store.db, 'shon'))!;
}

describe('rehash on login', () => {
  it('brings a hash of another cost to the configured one; the password still matches', async () => {
    const user = await userAtCost(5);
    expect(await rehashIfOutdated(store.db, hasher, user, 'secret-pw', 4)).toBe(true);
    const stored = (await findUser(store.db, 'shon'))!;
    expect(bcryptCostOf(stored.password_hash)).toBe(4);
    expect(await comparePassword('secret-pw', stored.password_hash)).toBe(true);
    expect(stored.updated_at).toBe(user.updated_at);
  });

  it('leaves a hash of the configured cost alone', async () => {
    const user = await userAtCost(4);
    expect(await rehashIfOutdated(store.db, hasher, user, 'secret-pw', 4)).toBe(false);
    expect((await findUser(store.db, 'shon'))!.password_hash).toBe(user.password_hash);
  });

  it('never undoes a password change made meanwhile', async () => {
    const stale = await userAtCost(5);
    await setPasswordHash(store.db, stale.id, await hashPassword('changed-pw', 5), new Date().toISOString());
    expect(await rehashIfOutdated(store.db, hasher, stale, 'secret-pw', 4)).toBe(false);
    const stored = (await findUser(store.db, 'shon'))!;
    expect(await comparePassword('changed-pw', stored.password_hash)).toBe(true);
    expect(await comparePassword('secret-pw', stored.password_hash)).toBe(false);
  });
});

describe('the dummy hash', () => {
  it('has the configured cost, whatever real users have', async () => {
    await userAtCost(5);
    const dummies = await DummyHashes.create(hasher, 4);
    expect(bcryptCostOf(await dummies.current())).toBe(4);
    expect(await dummies.current()).toBe(await dummies.current());
  });
});
