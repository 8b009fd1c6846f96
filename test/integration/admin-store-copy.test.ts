import { afterEach, describe, expect, it } from 'vitest';
import { appendAuditMany, newAuditEntry } from '../../src/store/audit.js';
import { insertMessages } from '../../src/store/history.js';
import { openStore } from '../../src/store/open-store.js';
import { saveThrottle } from '../../src/store/throttles.js';
import { expectFailure, expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { startChatServer } from '../helpers/chat-server-process.js';
import { insertLiveSession } from '../helpers/store-fixtures.js';
import { createStoreTarget, postgresReady, type StoreTarget } from '../helpers/store-targets.js';
import { WireClient } from '../helpers/wire-client.js';

const withPostgres = await postgresReady();

// `chat-admin store copy --to URL` between real databases: a SQLite file and
// PostgreSQL databases of the test's own. Copies must be exact (ids, times,
// hashes), batched past one page, and refuse what they must.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function target(kind: 'sqlite' | 'postgres'): Promise<StoreTarget> {
  const t = await createStoreTarget(kind);
  cleanups.push(() => t.remove());
  return t;
}

async function adminFixture(): Promise<AdminFixture> {
  const f = await makeAdminFixture();
  cleanups.push(() => f.dir.remove());
  return f;
}

const KEYS = { users: 'id', login_throttles: 'kind, key', audit_log: 'id', messages: 'id', resume_tokens: 'token_hash', sessions: 'id', instances: 'id', session_takeovers: 'session_id' } as const;

/** Every row of every table, in key order, as plain values. */
async function dump(location: string): Promise<Record<string, unknown[]>> {
  const store = await openStore({ file: location, create: false, thread: 'inline', poolSize: 1 });
  try {
    const out: Record<string, unknown[]> = {};
    for (const [table, key] of Object.entries(KEYS)) {
      let query = store.db.selectFrom(table as 'users').selectAll();
      for (const column of key.split(', ')) query = query.orderBy(column as 'id');
      out[table] = await query.execute();
    }
    return out;
  } finally {
    await store.close();
  }
}

const base = Date.parse('2026-11-20T00:00:00.000Z');

/** A source store with users (one disabled, one removed), 600 throttles, 1236 audit rows (1230 + 6 from the admin verbs), 1200 history messages, a live session and its resume token. */
async function fillSource(f: AdminFixture): Promise<void> {
  await f.addUsers('ann', 'Bob', 'cid');
  expectOk(await f.admin(['user', 'disable', 'cid']));
  expectOk(await f.admin(['user', 'remove', 'Bob']));
  await f.addUsers('dee');
  const store = await openStore({ file: f.db, create: false, thread: 'inline' });
  try {
    for (let i = 0; i < 600; i += 1) {
      await saveThrottle(store.db, {
        kind: i % 2 === 0 ? 'address' : 'user',
        key: `k${String(i).padStart(4, '0')}`,
        failures: [{ at: base + i, from: `f${i}` }],
        windowMs: 600_000,
        penaltyLevel: i % 3,
        lockedUntil: i % 3 === 0 ? null : base + 60_000,
        updatedAt: base + i,
        expiresAt: base + 10_000_000_000,
      });
    }
    await appendAuditMany(
      store.db,
      Array.from({ length: 1230 }, (_, i) =>
        newAuditEntry({ ts: new Date(base + i * 1000).toISOString(), event: 'login', username: 'ann', outcome: i % 2 === 0 ? 'ok' : 'failed', peer_address: '10.0.0.1', session_id: `s${i}`, duration_ms: i }),
      ),
    );
    await insertMessages(store.db, Array.from({ length: 1200 }, (_, i) => ({ id: `m${String(i).padStart(6, '0')}`, from: 'ann', text: `hello ${i}`, ts: new Date(base + i).toISOString() })));
    const { sessionId } = await insertLiveSession(store.db, { username: 'ann' });
    const ann = await store.db.selectFrom('users').select('id').where('username_key', '=', 'ann').executeTakeFirstOrThrow();
    await store.db.insertInto('resume_tokens').values({ token_hash: 'ab'.repeat(32), user_id: ann.id, username_key: 'ann', session_id: sessionId, issued_at: new Date(base).toISOString(), expires_at: new Date(base + 86_400_000).toISOString() }).execute();
  } finally {
    await store.close();
  }
}

describe.skipIf(!withPostgres)('chat-admin store copy', () => {
  it('copies SQLite to PostgreSQL and back exactly (ids, times, hashes; not live sessions), in batches, and moves the id sequences on', async () => {
    const f = await adminFixture();
    await fillSource(f);
    const original = await dump(f.db);
    expect(original.audit_log).toHaveLength(1236);
    const pg = await target('postgres');
    const toPg = await f.admin(['store', 'copy', '--to', pg.location]);
    expectOk(toPg);
    expect(toPg.stdout).toBe(`copied 3 users, 600 login throttles, 1236 audit rows, 1200 history messages, 1 resume token to ${pg.location}\n`);
    const onPg = await dump(pg.location);
    expect(onPg).toEqual({ ...original, sessions: [], instances: [], session_takeovers: [] });
    // Back to a new SQLite file: the same rows again.
    const back = await target('sqlite');
    const toSqlite = await f.admin(['--db', pg.location, 'store', 'copy', '--to', back.location]);
    expectOk(toSqlite);
    expect(toSqlite.stdout).toBe(`copied 3 users, 600 login throttles, 1236 audit rows, 1200 history messages, 1 resume token to ${back.location}\n`);
    expect(await dump(back.location)).toEqual({ ...original, sessions: [], instances: [], session_takeovers: [] });
    // New rows on PostgreSQL get ids after the copied ones (the sequences were moved past them).
    expectOk(await f.admin(['--db', pg.location, 'user', 'add', 'eve', '--password-stdin'], { stdin: 'pw-eve\n' }));
    const after = await dump(pg.location);
    const maxUser = Math.max(...original.users!.map((u) => (u as { id: number }).id));
    const maxAudit = Math.max(...original.audit_log!.map((a) => (a as { id: number }).id));
    expect(after.users!.find((u) => (u as { username: string }).username === 'eve')).toMatchObject({ id: maxUser + 1 });
    expect(after.audit_log!.at(-1)).toMatchObject({ id: maxAudit + 1, event: 'user_add', username: 'eve' });
  }, 60_000);

  it('lets a user copied to PostgreSQL log in to a server on it with the old password; a disabled one stays disabled', async () => {
    const f = await adminFixture();
    await f.addUsers('ann', 'cid');
    expectOk(await f.admin(['user', 'disable', 'cid']));
    const pg = await target('postgres');
    expectOk(await f.admin(['store', 'copy', '--to', pg.location]));
    const server = await startChatServer({ dbFile: pg.location });
    cleanups.push(() => server.stop());
    const ann = await WireClient.loginJson(server.port, 'ann', 'pw-ann');
    cleanups.push(async () => ann.close());
    const cid = await WireClient.connect(server.port);
    cleanups.push(async () => cid.close());
    cid.sendJson({ type: 'hello', proto: 1, client: 'test' });
    cid.sendJson({ type: 'login', username: 'cid', password: 'pw-cid' });
    expect(await cid.waitForJson((m) => m.type === 'login_failed')).toMatchObject({ reason: 'disabled' });
    const audit = await f.admin(['--db', pg.location, 'audit', '--user', 'ann', '--json']);
    expect((JSON.parse(audit.stdout) as Array<{ event: string; outcome: string | null }>).map((r) => `${r.event} ${r.outcome}`)).toEqual(['login ok', 'user_add null']);
  }, 60_000);

  it('refuses a target that already has users, with one line, and leaves it as it was', async () => {
    const f = await adminFixture();
    await f.addUsers('ann');
    const pg = await target('postgres');
    expectOk(await f.admin(['--db', pg.location, 'user', 'add', 'zed', '--password-stdin'], { stdin: 'pw-zed\n' }));
    const before = await dump(pg.location);
    expectFailure(await f.admin(['store', 'copy', '--to', pg.location]), 1, /^chat-admin: target postgres:\/\/\S+ is not empty \(1 users\); store copy only fills a new, empty store\n$/);
    expect(await dump(pg.location)).toEqual(before);
    // PostgreSQL to a SQLite file that has users: refused the same way.
    const other = await adminFixture();
    await other.addUsers('yan');
    expectFailure(await f.admin(['--db', pg.location, 'store', 'copy', '--to', other.db]), 1, /is not empty \(1 users\)/);
  }, 60_000);

  it('reports a bad target in one line: unreachable server, missing database, invalid URL, missing folder, the source itself, no --to', async () => {
    const f = await adminFixture();
    await f.addUsers('ann');
    const missing = new URL((await target('postgres')).location);
    missing.pathname = '/chat_test_no_such_database';
    expectFailure(await f.admin(['store', 'copy', '--to', 'postgres://127.0.0.1:1/chat']), 1, /cannot reach database postgres:\/\/127\.0\.0\.1:1\/chat \(ECONNREFUSED\)/);
    expectFailure(await f.admin(['store', 'copy', '--to', missing.toString()]), 1, /no such database: postgres:\/\/.*chat_test_no_such_database/);
    expectFailure(await f.admin(['store', 'copy', '--to', 'postgres://u:secret@[bad/x']), 1, /not a valid PostgreSQL URL: postgres:\/\/u:\*\*\*@/);
    expectFailure(await f.admin(['store', 'copy', '--to', f.dir.file('no/such/folder/chat.db')]), 1, /folder .* does not exist/);
    expectFailure(await f.admin(['store', 'copy', '--to', f.db]), 2, /--to names the source store itself/);
    expectFailure(await f.admin(['store', 'copy']), 2, /required option '--to <path\|url>' not specified/);
    // The password of a URL never reaches the output.
    const secret = await f.admin(['store', 'copy', '--to', 'postgres://u:secret@127.0.0.1:1/chat']);
    expect(secret.stderr).not.toContain('secret');
  }, 60_000);
});
