import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparePassword } from '../../src/accounts/passwords.js';
import { expectFailure, expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { dumpTables, withTestStore } from '../helpers/store-fixtures.js';
import { findUser } from '../../src/store/users.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await makeAdminFixture();
});
afterEach(async () => {
  await f?.dir.remove();
});

/** The fixture relaxes the rule for its short passwords; these tests run with the default. */
const DEFAULT_RULE = { CHAT_MIN_PASSWORD_LENGTH: undefined };

async function hashOf(name: string): Promise<string> {
  return withTestStore(f.db, async (db) => (await findUser(db, name))!.password_hash);
}

describe('the password rule: at least 8 characters by default, at most 72 bytes', () => {
  it('user add refuses 7 characters, accepts 8 (counted in characters, not bytes)', async () => {
    expectFailure(await f.admin(['user', 'add', 'shon', '--password-stdin'], { stdin: 'seven77\n', env: DEFAULT_RULE }), 1, /the password is 7 characters; use at least 8/);
    expect(() => dumpTables(f.db)).toThrow();
    expectOk(await f.admin(['user', 'add', 'shon', '--password-stdin'], { stdin: 'éééééééé\n', env: DEFAULT_RULE }));
  });

  it('user passwd refuses a short password and keeps the old one', async () => {
    await f.addUsers('shon');
    const before = await hashOf('shon');
    expectFailure(await f.admin(['user', 'passwd', 'shon', '--password-stdin'], { stdin: 'short\n', env: DEFAULT_RULE }), 1, /the password is 5 characters; use at least 8/);
    expect(await hashOf('shon')).toBe(before);
  });

  it('user import names the line of a short password and imports nothing', async () => {
    const result = await f.admin(['user', 'import'], { stdin: 'shon:long-enough\n# comment\ndana:short\n', env: DEFAULT_RULE });
    expectFailure(result, 1, /line 3: the password is 5 characters; use at least 8/);
    expect(() => dumpTables(f.db)).toThrow();
  });

  it('is set with --min-password-length or CHAT_MIN_PASSWORD_LENGTH, before or after the verb', async () => {
    expectOk(await f.admin(['--min-password-length', '12', 'user', 'add', 'shon', '--password-stdin'], { stdin: 'twelve-chars\n', env: DEFAULT_RULE }));
    expectFailure(await f.admin(['user', 'add', 'dana', '--password-stdin', '--min-password-length', '12'], { stdin: 'eleven-char\n', env: DEFAULT_RULE }), 1, /use at least 12/);
    expectFailure(await f.admin(['user', 'add', 'dana', '--password-stdin'], { stdin: 'eleven-char\n', env: { CHAT_MIN_PASSWORD_LENGTH: '12' } }), 1, /use at least 12/);
    expectFailure(await f.admin(['user', 'list', '--min-password-length', '0']), 2, /--min-password-length "0" must be at least 1/);
  });

  it('still refuses more than 72 bytes', async () => {
    expectFailure(await f.admin(['user', 'add', 'shon', '--password-stdin'], { stdin: `${'x'.repeat(73)}\n`, env: DEFAULT_RULE }), 1, /73 bytes; bcrypt uses at most 72/);
  });
});

describe('user add of a name that exists', () => {
  it('refuses before asking for a password, and points at user passwd', async () => {
    await f.addUsers('shon');
    // No terminal and no --password-stdin: asking would fail; the name is checked first.
    expectFailure(await f.admin(['user', 'add', 'Shon']), 1, /^chat-admin: user Shon already exists \(as shon\); to change the password: chat-admin user passwd shon\n$/);
    expect(await comparePassword('pw-shon', await hashOf('shon'))).toBe(true);
  });
});
