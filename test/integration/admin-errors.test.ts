import { writeFile } from 'node:fs/promises';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectFailure, expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { dumpTables } from '../helpers/store-fixtures.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await makeAdminFixture();
});
afterEach(async () => {
  await f?.dir.remove();
});

const NON_CREATING_VERBS = [
  ['user', 'remove', 'shon'],
  ['user', 'list'],
  ['user', 'passwd', 'shon', '--password-stdin'],
  ['user', 'disable', 'shon'],
  ['user', 'enable', 'shon'],
  ['sessions'],
  ['kick', 'shon'],
  ['audit'],
];

describe('database errors', () => {
  it.each(NON_CREATING_VERBS)('%s %s fails on a missing database without creating it', async (...args) => {
    expectFailure(await f.admin(args, { stdin: 'pw\n' }), 1, /no such database: .*chat\.db/);
    expect(() => dumpTables(f.db)).toThrow();
  });

  it.each([[['user', 'add', 'shon', '--password-stdin']], [['user', 'list']], [['user', 'import']]])(
    '%j refuses a file that is not a database, leaving it as it was',
    async (args) => {
      await writeFile(f.db, 'just some text, not SQLite\n'.repeat(10));
      expectFailure(await f.admin(args, { stdin: 'shon:pw\n' }), 1, /is not a chat-server database/);
    },
  );

  it('uses --db over CHAT_DB', async () => {
    const other = f.dir.file('other.db');
    expectOk(await f.admin(['user', 'add', 'shon', '--password-stdin', '--db', other], { stdin: 'pw\n' }));
    expect(dumpTables(other, ['users']).users).toHaveLength(1);
    expect(() => dumpTables(f.db)).toThrow();
  });

  it('gives up on a write lock held past --busy-timeout, changing nothing', async () => {
    await f.addUsers('shon');
    const holder = new SqliteDatabase(f.db);
    try {
      holder.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      for (const args of [['user', 'add', 'x', '--password-stdin'], ['user', 'disable', 'shon'], ['user', 'import']]) {
        expectFailure(await f.admin([...args, '--busy-timeout', '200ms'], { stdin: 'y:pw\n' }), 1, /is locked by another process/);
      }
      expect(Date.now() - started).toBeLessThan(8000);
      // Reading does not need the write lock (WAL).
      expectOk(await f.admin(['user', 'list']));
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
    }
    expect((dumpTables(f.db, ['users']).users as unknown[]).length).toBe(1);
  });

  it('takes the busy timeout from CHAT_BUSY_TIMEOUT and validates it', async () => {
    await f.addUsers('shon');
    expectFailure(await f.admin(['user', 'list'], { env: { CHAT_BUSY_TIMEOUT: 'soon' } }), 2, /CHAT_BUSY_TIMEOUT "soon" must be a duration: .*ms, s, m, h or d/);
    expectFailure(await f.admin(['user', 'list', '--busy-timeout', '-1']), 2, /--busy-timeout/);
  });
});

describe('usage errors', () => {
  it.each([
    [['frob'], /unknown command 'frob'/],
    [['user', 'lst'], /unknown command 'lst' \(did you mean list\?\)/],
    [['user', 'list', '--jsn'], /unknown option '--jsn' \(did you mean --json\?\)/],
    [['user', 'add'], /missing required argument 'name'/],
    [['user', 'add', 'a', 'b'], /too many arguments/],
    [['audit', '--since', '10x'], /--since .* is invalid/],
    [['audit', '--since', '3w'], /--since .* is invalid/],
    [['audit', '--limit', '0'], /--limit .* is invalid/],
    [['audit', '--limit', '10001'], /--limit .* is invalid/],
    [['audit', '--limit', 'many'], /--limit .* is invalid/],
    [['audit', '--event', 'party'], /--event .* Allowed choices are login/],
  ])('%j is a usage error (exit 2, one line)', async (args, message) => {
    await f.addUsers('shon');
    const before = dumpTables(f.db);
    expectFailure(await f.admin(args), 2, message);
    expect(dumpTables(f.db)).toEqual(before);
  });

  it('a noun without a verb prints its help on stderr and exits 2', async () => {
    const result = await f.admin(['user']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/Usage: chat-admin user/);
  });
});

describe('help', () => {
  it('the top-level help lists every noun with examples and the environment', async () => {
    const result = await f.admin(['--help']);
    expect(result.exitCode).toBe(0);
    for (const text of ['user', 'sessions', 'kick', 'audit', 'Examples:', 'CHAT_DB', 'CHAT_BCRYPT_COST', 'CHAT_BUSY_TIMEOUT']) {
      expect(result.stdout).toContain(text);
    }
  });

  it.each([
    ['user', 'add'],
    ['user', 'import'],
    ['user', 'passwd'],
    ['audit'],
  ])('%s %s --help describes the verb and its options', async (...verb) => {
    const result = await f.admin([...verb.filter(Boolean), '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/--db <path\|url>/);
    expect(result.stdout).toMatch(/--busy-timeout <duration>/);
  });
});
