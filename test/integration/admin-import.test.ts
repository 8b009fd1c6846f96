import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparePassword } from '../../src/accounts/passwords.js';
import { expectFailure, expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { dumpTables } from '../helpers/store-fixtures.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await makeAdminFixture();
});
afterEach(async () => {
  await f?.dir.remove();
});

type UserDump = { username: string; password_hash: string };
type AuditDump = { event: string; username: string; actor: string; detail: string };

describe('chat-admin user import', () => {
  it('imports name:password lines from a file, skipping blanks and comments, one audit row per user', async () => {
    const file = f.dir.file('users.txt');
    await writeFile(file, '# team\n\nalice:pa:ss word\r\n  # indented comment\nBob:x\n');
    const result = await f.admin(['user', 'import', file]);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'imported 2 users\n', stderr: `created database ${f.db}\n` });
    const { users, audit_log } = dumpTables(f.db, ['users', 'audit_log']) as { users: UserDump[]; audit_log: AuditDump[] };
    expect(users.map((u) => u.username)).toEqual(['alice', 'Bob']);
    expect(await comparePassword('pa:ss word', users[0]!.password_hash)).toBe(true);
    expect(audit_log).toEqual([
      expect.objectContaining({ event: 'user_add', username: 'alice', actor: userInfo().username, detail: 'import' }),
      expect.objectContaining({ event: 'user_add', username: 'Bob', detail: 'import' }),
    ]);
  });

  it.each([[[]], [['-']]])('reads standard input with args %j', async (extra) => {
    expect((await f.admin(['user', 'import', ...extra], { stdin: 'one:1\n' })).stdout).toBe('imported 1 user\n');
  });

  it.each([
    ['a missing colon', 'ok:1\nnocolon\n', /line 2: expected name:password/],
    ['a bad name', 'ok:1\n\n# c\nbad name:1\n', /line 4: invalid username "bad name"/],
    ['an SQL-looking name', "'; drop table users; --:x\n", /line 1: invalid username/],
    ['an empty password', 'ok:1\nempty:\n', /line 2: the password is empty/],
    ['a too-long password', `ok:1\nlong:${'x'.repeat(73)}\n`, /line 2: the password is 73 bytes/],
    ['a duplicate in the file', 'Shon:1\nok:2\nshon:3\n', /line 3: user shon is listed twice \(first on line 1\)/],
  ])('imports nothing on %s, naming the line', async (_case, stdin, message) => {
    await f.addUsers('keep');
    const before = dumpTables(f.db);
    expectFailure(await f.admin(['user', 'import'], { stdin }), 1, message);
    expect(dumpTables(f.db)).toEqual(before);
  });

  it('imports nothing when a name already exists, naming the line', async () => {
    await f.addUsers('shon');
    const before = dumpTables(f.db);
    expectFailure(await f.admin(['user', 'import'], { stdin: 'new1:1\nSHON:2\nnew2:3\n' }), 1, /line 2: user SHON already exists \(as shon\)/);
    expect(dumpTables(f.db)).toEqual(before);
  });

  it('refuses an input with no users and an unreadable file, creating nothing', async () => {
    expectFailure(await f.admin(['user', 'import'], { stdin: '# only a comment\n\n' }), 1, /nothing to import/);
    expectFailure(await f.admin(['user', 'import', f.dir.file('absent.txt')]), 1, /cannot read .*absent\.txt: ENOENT/);
    expect(() => dumpTables(f.db)).toThrow();
  });

  it('lets two concurrent imports of disjoint users both succeed', async () => {
    await f.addUsers('seed');
    const batch = (prefix: string): string => Array.from({ length: 20 }, (_, i) => `${prefix}${i}:pw${i}`).join('\n');
    const results = await Promise.all([f.admin(['user', 'import'], { stdin: batch('a') }), f.admin(['user', 'import'], { stdin: batch('b') })]);
    for (const result of results) expect(result).toMatchObject({ exitCode: 0, stdout: 'imported 20 users\n', stderr: '' });
    const { users, audit_log } = dumpTables(f.db, ['users', 'audit_log']);
    expect(users).toHaveLength(41);
    expect(audit_log).toHaveLength(41);
  });
});
