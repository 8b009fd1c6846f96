import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DummyHashes, verifyCredentials } from '../../src/accounts/verify-credentials.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { insertUser } from '../../src/store/users.js';
import { InlineHasher } from '../helpers/inline-hasher.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

describe('verifyCredentials runs exactly one bcrypt compare on every path', () => {
  let dir: TempDir;
  let store: Store;
  let hasher: InlineHasher;
  let dummies: DummyHashes;
  let realHash: string;

  beforeAll(async () => {
    dir = await makeTempDir();
    store = await openStore({ file: dir.file('chat.db'), create: true });
    hasher = new InlineHasher();
    realHash = await hasher.hash('right', 4);
    await insertUser(store.db, { username: 'shon', passwordHash: realHash, at: new Date().toISOString() });
    dummies = await DummyHashes.create(hasher, 4);
  });

  afterAll(async () => {
    await hasher.close();
    await store.close();
    await dir.remove();
  });

  it.each([
    ['an unknown name', 'nobody', 'right', 'unknown_user', 'dummy'],
    ['a malformed name', '{bad name', 'right', 'invalid_name', 'dummy'],
    ['a wrong password', 'shon', 'wrong', 'bad_password', 'real'],
    ['an empty password', 'shon', '', 'bad_password', 'real'],
  ])('%s: one compare, against the %s hash', async (_, username, password, failure, against) => {
    hasher.compares = [];
    const check = await verifyCredentials(store.db, hasher, dummies, username, password);
    expect(check).toEqual({ ok: false, failure });
    expect(hasher.compares).toHaveLength(1);
    if (against === 'dummy') expect(hasher.compares[0]).toBe(await dummies.current());
    else expect(hasher.compares[0]).toBe(realHash);
  });

  it('the right password: one compare, and the user', async () => {
    hasher.compares = [];
    const check = await verifyCredentials(store.db, hasher, dummies, 'SHON', 'right');
    expect(check.ok && check.user.username).toBe('shon');
    expect(hasher.compares).toEqual([realHash]);
  });
});
