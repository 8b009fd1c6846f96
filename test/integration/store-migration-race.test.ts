import SqliteDatabase from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { assertFreshBuild } from '../helpers/run-cli.js';
import { ADMIN_SOURCES } from '../helpers/chat-admin.js';
import { runAdmin, startChatServer } from '../helpers/chat-server-process.js';
import { queryDb } from '../helpers/db-peek.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// Before migrations were serialised, 3 simultaneous `user add` on a missing
// file failed in about 1 of 6 tries ("table users already exists"); 12 rounds
// of 3 make a miss of that bug unlikely (about 1 in 9 before the fix).
const ROUNDS = 12;
const ADMINS = 3;

function addAll(db: string, round: number, count: number): Promise<Array<{ name: string; code: number; stderr: string }>> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const name = `r${round}u${i}`;
      const result = await runAdmin(['user', 'add', name, '--password-stdin', '--db', db], { input: `pw-${name}\n`, timeoutMs: 20_000 });
      return { name, code: result.code, stderr: result.stderr.replace(/^created database .*\n/, '') };
    }),
  );
}

function usersIn(db: string): string[] {
  return queryDb<{ username: string }>(db, 'select username from users order by username').map((row) => row.username);
}

describe('opening a new database from several processes at once', () => {
  assertFreshBuild(['src/server', ...ADMIN_SOURCES]);

  it(`adds every user when ${ADMINS} chat-admin processes create the same database together (${ROUNDS} rounds)`, async () => {
    const dir = await makeTempDir('chat-migrate-race-');
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const db = dir.file(`round-${round}.db`);
        const results = await addAll(db, round, ADMINS);
        expect(results.filter((r) => r.code !== 0 || r.stderr !== '')).toEqual([]);
        expect(usersIn(db)).toEqual(results.map((r) => r.name).sort());
      }
    } finally {
      await dir.remove();
    }
  }, 180_000);

  it('starts a server and adds every user when a server and two admins open a new database together (6 rounds)', async () => {
    const dir = await makeTempDir('chat-migrate-race-');
    try {
      for (let round = 0; round < 6; round++) {
        const db = dir.file(`round-${round}.db`);
        const [server, results] = await Promise.all([startChatServer({ dbFile: db, readyTimeoutMs: 20_000 }), addAll(db, round, 2)]);
        try {
          expect(server.stderr.text).toBe('');
          expect(results.filter((r) => r.code !== 0 || r.stderr !== '')).toEqual([]);
          expect(usersIn(db)).toEqual(results.map((r) => r.name).sort());
        } finally {
          const code = await server.stop();
          expect(code, `chat-server output:\n${server.stdout.text}${server.stderr.text}`).toBe(0);
        }
      }
    } finally {
      await dir.remove();
    }
  }, 180_000);

  it('still refuses a database written by a newer chat-server, writing nothing', async () => {
    const dir = await makeTempDir('chat-migrate-race-');
    try {
      const db = dir.file('chat.db');
      expect((await addAll(db, 0, 1))[0]).toMatchObject({ code: 0, stderr: '' });
      const raw = new SqliteDatabase(db);
      raw.prepare("insert into kysely_migration (name, timestamp) values ('29990101T0001_future', '2999-01-01T00:00:00.000Z')").run();
      raw.close();
      const result = await runAdmin(['user', 'add', 'late', '--password-stdin', '--db', db], { input: 'pw-late\n' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^chat-admin: database .* was written by a newer chat-server \(unknown migration 29990101T0001_future\); upgrade this program\n$/);
      expect(usersIn(db)).toEqual(['r0u0']);
    } finally {
      await dir.remove();
    }
  });
});
