import { userInfo } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparePassword } from '../../src/accounts/passwords.js';
import { expectFailure, expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { dumpTables, withTestStore } from '../helpers/store-fixtures.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await makeAdminFixture();
});
afterEach(async () => {
  await f?.dir.remove();
});

const actor = userInfo().username;

async function passwordHashOf(file: string, name: string): Promise<string> {
  return withTestStore(file, async (db) => {
    const row = await db.selectFrom('users').select('password_hash').where('username_key', '=', name.toLowerCase()).executeTakeFirstOrThrow();
    return row.password_hash;
  });
}

async function auditJson(args: readonly string[] = []): Promise<Array<Record<string, unknown>>> {
  const result = await f.admin(['audit', '--json', ...args]);
  expectOk(result);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

describe('chat-admin user add', () => {
  it('creates the database, adds the user with a bcrypt hash of the first stdin line, and audits it', async () => {
    const result = await f.admin(['user', 'add', 'shon', '--password-stdin'], { stdin: 'sec:ret \r\nignored\n' });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'added user shon\n', stderr: `created database ${f.db}\n` });
    const hash = await passwordHashOf(f.db, 'shon');
    expect(hash).toMatch(/^\$2[aby]\$04\$/);
    expect(await comparePassword('sec:ret ', hash)).toBe(true);
    expect(await auditJson()).toEqual([expect.objectContaining({ event: 'user_add', username: 'shon', actor, detail: null })]);
  });

  it('refuses a name that differs only in case, leaving the database unchanged', async () => {
    await f.addUsers('shon');
    const before = dumpTables(f.db);
    const result = await f.admin(['user', 'add', 'Shon', '--password-stdin'], { stdin: 'pw\n' });
    expectFailure(result, 1, /user Shon already exists \(as shon\)/);
    expect(dumpTables(f.db)).toEqual(before);
  });

  it('refuses an SQL-looking name as an invalid name, leaving the database unchanged', async () => {
    await f.addUsers('shon');
    const before = dumpTables(f.db);
    const result = await f.admin(['user', 'add', "'; drop table users; --", '--password-stdin'], { stdin: 'pw\n' });
    expectFailure(result, 1, /invalid username/);
    expect(dumpTables(f.db)).toEqual(before);
  });

  it.each([
    ['an empty password', '\n', /the password is empty/],
    ['a password over 72 bytes', `${'é'.repeat(37)}\n`, /74 bytes; bcrypt uses at most 72/],
  ])('refuses %s without creating the database', async (_case, stdin, message) => {
    const result = await f.admin(['user', 'add', 'shon', '--password-stdin'], { stdin });
    expectFailure(result, 1, message);
    expect(() => dumpTables(f.db)).toThrow();
  });

  it('accepts a password of exactly 72 bytes', async () => {
    expectOk(await f.admin(['user', 'add', 'shon', '--password-stdin'], { stdin: `${'x'.repeat(72)}\n` }));
  });

  it('will not prompt without a terminal: a usage error pointing at --password-stdin', async () => {
    expectFailure(await f.admin(['user', 'add', 'shon']), 2, /--password-stdin/);
  });

  it('validates --bcrypt-cost and CHAT_BCRYPT_COST before anything happens', async () => {
    expectFailure(await f.admin(['user', 'add', 'shon', '--password-stdin', '--bcrypt-cost', '3'], { stdin: 'pw\n' }), 2, /--bcrypt-cost/);
    expectFailure(await f.admin(['user', 'add', 'shon', '--password-stdin'], { stdin: 'pw\n', env: { CHAT_BCRYPT_COST: '16' } }), 2, /CHAT_BCRYPT_COST/);
    expect(() => dumpTables(f.db)).toThrow();
  });

  it('lets --bcrypt-cost override CHAT_BCRYPT_COST', async () => {
    expectOk(await f.admin(['user', 'add', 'shon', '--password-stdin', '--bcrypt-cost', '5'], { stdin: 'pw\n' }));
    expect(await passwordHashOf(f.db, 'shon')).toMatch(/^\$2[aby]\$05\$/);
  });

  it('lets exactly one of two concurrent adds of the same name succeed', async () => {
    await f.addUsers('seed');
    const results = await Promise.all(
      ['race', 'RACE'].map((name) => f.admin(['user', 'add', name, '--password-stdin'], { stdin: 'pw\n' })),
    );
    expect(results.map((r) => r.exitCode).sort()).toEqual([0, 1]);
    expect(results.find((r) => r.exitCode === 1)!.stderr).toMatch(/already exists/);
    const users = dumpTables(f.db, ['users']).users as Array<{ username_key: string }>;
    expect(users.filter((u) => u.username_key === 'race')).toHaveLength(1);
  });
});

describe('chat-admin user list', () => {
  it('prints a table, and --json one array with camelCase keys', async () => {
    await f.addUsers('shon', 'Alice');
    expectOk(await f.admin(['user', 'disable', 'shon']));
    const table = await f.admin(['user', 'list']);
    expectOk(table);
    expect(table.stdout).toMatch(/^user +created +last login +disabled\n-+ +-+ +-+ +-+\n/);
    expect(table.stdout).toMatch(/^Alice +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +never +no$/m);
    expect(table.stdout).toMatch(/^shon +.* +yes$/m);
    expect(table.stdout.indexOf('Alice')).toBeLessThan(table.stdout.indexOf('shon'));

    const json = await f.admin(['user', 'list', '--json']);
    expectOk(json);
    const rows = JSON.parse(json.stdout) as unknown[];
    expect(rows).toEqual([
      { username: 'Alice', createdAt: expect.any(String), updatedAt: expect.any(String), lastLoginAt: null, disabled: false },
      { username: 'shon', createdAt: expect.any(String), updatedAt: expect.any(String), lastLoginAt: null, disabled: true },
    ]);
  });

  it('says so when there are no users, and [] with --json', async () => {
    expectOk(await f.admin(['user', 'import', '-'], { stdin: 'x:y\n' }));
    expectOk(await f.admin(['user', 'remove', 'x']));
    expect((await f.admin(['user', 'list'])).stdout).toBe('no users\n');
    expect((await f.admin(['user', 'list', '--json'])).stdout.trim()).toBe('[]');
  });
});

describe('chat-admin user passwd, disable, enable, remove', () => {
  it('changes the password, case-insensitively, and audits it without the password', async () => {
    await f.addUsers('shon');
    const result = await f.admin(['user', 'passwd', 'SHON', '--password-stdin'], { stdin: 'n3w-secret\n' });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'changed the password of shon\n', stderr: '' });
    expect(await comparePassword('n3w-secret', await passwordHashOf(f.db, 'shon'))).toBe(true);
    const [row] = await auditJson();
    expect(row).toMatchObject({ event: 'user_passwd', username: 'shon', actor });
    expect(JSON.stringify(dumpTables(f.db, ['audit_log']))).not.toContain('n3w-secret');
  });

  it('disables and enables, auditing only real changes', async () => {
    await f.addUsers('shon');
    expect((await f.admin(['user', 'disable', 'shon'])).stdout).toBe('disabled user shon\n');
    expect((await f.admin(['user', 'disable', 'shon'])).stdout).toBe('user shon was already disabled\n');
    expect((await f.admin(['user', 'enable', 'Shon'])).stdout).toBe('enabled user shon\n');
    expect((await auditJson()).map((row) => row['event'])).toEqual(['user_enable', 'user_disable', 'user_add']);
  });

  it('removes a user and audits it', async () => {
    await f.addUsers('shon', 'keep');
    expect((await f.admin(['user', 'remove', 'shon'])).stdout).toBe('removed user shon\n');
    const users = dumpTables(f.db, ['users']).users as Array<{ username: string }>;
    expect(users.map((u) => u.username)).toEqual(['keep']);
    expect((await auditJson(['--user', 'shon'])).map((row) => row['event'])).toEqual(['user_remove', 'user_add']);
  });

  it.each([
    [['user', 'remove', 'ghost']],
    [['user', 'disable', 'ghost']],
    [['user', 'enable', 'ghost']],
    [['user', 'passwd', 'ghost', '--password-stdin']],
    [['kick', 'ghost']],
  ])('%j fails on an unknown user, changing nothing', async (args) => {
    await f.addUsers('shon');
    const before = dumpTables(f.db);
    expectFailure(await f.admin(args, { stdin: 'pw\n' }), 1, /no such user: ghost/);
    expect(dumpTables(f.db)).toEqual(before);
  });

  it.each([
    [['user', 'remove', "'; drop table users; --"]],
    [['user', 'passwd', 'a b', '--password-stdin']],
    [['kick', '-x-']],
  ])('%j refuses an invalid name', async (args) => {
    await f.addUsers('shon');
    const before = dumpTables(f.db);
    const result = await f.admin(args, { stdin: 'pw\n' });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/^chat-admin: (invalid username|unknown option)/);
    expect(dumpTables(f.db)).toEqual(before);
  });
});
