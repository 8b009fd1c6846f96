import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectFailure, expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { startChatServer, TEST_ENV, type ChatServerProcess } from '../helpers/chat-server-process.js';
import { TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { importUsers } from '../helpers/server-fixture.js';
import { createStoreTarget, postgresReady } from '../helpers/store-targets.js';
import { WireClient } from '../helpers/wire-client.js';
import { runCli } from '../helpers/run-cli.js';
import { dumpTables } from '../helpers/store-fixtures.js';

const withPostgres = await postgresReady();

let f: AdminFixture;
beforeEach(async () => {
  f = await makeAdminFixture();
});
afterEach(async () => {
  await f?.dir.remove();
});

/** The one problem line of a refused setting, without the program's name. */
function problemOf(stderr: string, program: string): string {
  expect(stderr).toMatch(new RegExp(`^${program}: invalid configuration: [^\\n]+\\n$`));
  return stderr.slice(`${program}: `.length);
}

describe('the options chat-server and chat-admin share mean the same to both', () => {
  it('CHAT_BUSY_TIMEOUT=5000 is refused by both with the same words, naming the unit', async () => {
    const env = { ...TEST_ENV, CHAT_DB: f.db, CHAT_BUSY_TIMEOUT: '5000' };
    const server = await runCli('chat-server', ['--port', '0', '--host', '127.0.0.1'], { env });
    const admin = await runCli('chat-admin', ['user', 'list'], { env });
    expect(server.exitCode).toBe(2);
    expect(admin.exitCode).toBe(2);
    const problem = problemOf(server.stderr, 'chat-server');
    expect(problemOf(admin.stderr, 'chat-admin')).toBe(problem);
    expect(problem).toMatch(/CHAT_BUSY_TIMEOUT "5000" must be at most 1m; a bare number means seconds: for milliseconds write 5000ms/);
  });

  it('CHAT_BUSY_TIMEOUT=1 makes chat-admin wait one second for a lock, as it makes the server', async () => {
    await f.addUsers('shon');
    const holder = new SqliteDatabase(f.db);
    try {
      holder.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      expectFailure(await f.admin(['user', 'disable', 'shon'], { env: { CHAT_BUSY_TIMEOUT: '1' } }), 1, /is locked by another process/);
      // Read as milliseconds (the old chat-admin grammar) this gave up at once.
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
    }
  });
});

describe('chat-admin takes its options before or after the verb', () => {
  const usersIn = (file: string) => (dumpTables(file, ['users']).users as Array<{ username: string }>).map((u) => u.username);

  it('--db before the verb', async () => {
    const other = f.dir.file('before.db');
    expectOk(await f.admin(['--db', other, 'user', 'add', 'shon', '--password-stdin'], { stdin: 'pw-shon\n' }));
    expect(usersIn(other)).toEqual(['shon']);
  });

  it('--db between the noun and the verb, and --db=FILE', async () => {
    const other = f.dir.file('middle.db');
    expectOk(await f.admin(['user', `--db=${other}`, 'add', 'shon', '--password-stdin'], { stdin: 'pw-shon\n' }));
    expect(usersIn(other)).toEqual(['shon']);
  });

  it('--db after the verb', async () => {
    const other = f.dir.file('after.db');
    expectOk(await f.admin(['user', 'add', 'shon', '--password-stdin', '--db', other], { stdin: 'pw-shon\n' }));
    expect(usersIn(other)).toEqual(['shon']);
  });

  it('given before and after the verb, the one after wins', async () => {
    const before = f.dir.file('before.db');
    const after = f.dir.file('after.db');
    expectOk(await f.admin(['--db', before, 'user', 'add', 'shon', '--password-stdin', '--db', after], { stdin: 'pw-shon\n' }));
    expect(usersIn(after)).toEqual(['shon']);
    expect(() => dumpTables(before)).toThrow();
  });

  it('--bcrypt-cost and --busy-timeout before the verb are validated like after it', async () => {
    expectFailure(await f.admin(['--bcrypt-cost', '3', 'user', 'add', 'shon', '--password-stdin'], { stdin: 'pw\n' }), 2, /--bcrypt-cost "3" must be a whole number from 4 to 15/);
    expectFailure(await f.admin(['--busy-timeout', 'soon', 'user', 'list']), 2, /--busy-timeout "soon" must be a duration/);
  });
});

describe('--db-pool-size / CHAT_DB_POOL_SIZE', () => {
  it('is refused out of 1 to 100 by both programs with the same words', async () => {
    for (const [value, words] of [['0', 'must be at least 1'], ['101', 'must be at most 100'], ['many', 'must be a whole number']] as const) {
      const env = { ...TEST_ENV, CHAT_DB: f.db, CHAT_DB_POOL_SIZE: value };
      const server = await runCli('chat-server', ['--port', '0', '--host', '127.0.0.1'], { env });
      const admin = await runCli('chat-admin', ['user', 'list'], { env });
      expect([server.exitCode, admin.exitCode]).toEqual([2, 2]);
      const problem = problemOf(server.stderr, 'chat-server');
      expect(problemOf(admin.stderr, 'chat-admin')).toBe(problem);
      expect(problem).toContain(`CHAT_DB_POOL_SIZE "${value}" ${words}`);
    }
  });

  describe.skipIf(!withPostgres)('on PostgreSQL', () => {
    it('bounds the connections a server keeps to its database while 16 logins (good and bad) run at once', async () => {
      const target = await createStoreTarget('postgres');
      const peek = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await peek.connect();
      let server: ChatServerProcess | undefined;
      try {
        await importUsers(target.location, ['ann', 'bob', 'cid', 'dee']);
        server = await startChatServer({ dbFile: target.location, args: ['--db-pool-size', '2', '--max-prelogin-per-address', '0', '--throttle-address-failures', '0'] });
        const dbName = new URL(target.location).pathname.slice(1);
        let most = 0;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const { rows } = await peek.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = $1', [dbName]);
            most = Math.max(most, Number(rows[0]!.n));
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        })();
        const port = server.port;
        const logins = await Promise.all(
          Array.from({ length: 16 }, async (_, i) => {
            const name = ['ann', 'bob', 'cid', 'dee'][i % 4]!;
            const client = await WireClient.connect(port);
            try {
              client.sendJson({ type: 'hello', proto: 1, client: 'test' });
              client.sendJson({ type: 'login', username: name, password: i < 4 ? `pw-${name}` : 'wrong' });
              return (await client.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed', 15_000)).type;
            } finally {
              client.close();
            }
          }),
        );
        sampling = false;
        await sampler;
        expect(logins.filter((t) => t === 'login_ok')).toHaveLength(4);
        expect(most).toBeGreaterThanOrEqual(1);
        expect(most).toBeLessThanOrEqual(2);
      } finally {
        await server?.stop();
        await peek.end();
        await target.remove();
      }
    });
  });
});
