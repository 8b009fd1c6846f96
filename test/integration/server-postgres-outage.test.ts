import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runAdmin } from '../helpers/chat-server-process.js';
import { eventually } from '../helpers/db-peek.js';
import { TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { onCleanup, startServer } from '../helpers/server-fixture.js';
import { postgresReady } from '../helpers/store-targets.js';
import { WireClient, type JsonMessage } from '../helpers/wire-client.js';

// The promise of docs/store.md: PostgreSQL goes away for up to 10 seconds
// and logged-in users keep chatting, new logins get server_busy (costing no
// attempt) and succeed once it is back, and every session end of the outage
// is audited once it is back: none lost, none doubled. The test blocks its
// own database on the shared server: ALLOW_CONNECTIONS false and every
// connection to it terminated, for about 8 s.

const withPostgres = await postgresReady();

type AuditJson = Array<{ event: string; username: string | null; outcome: string | null; reason: string | null; sessionId: string | null }>;

describe.skipIf(!withPostgres)('PostgreSQL goes away for 8 seconds under traffic', () => {
  it('keeps chat going, answers new logins server_busy at no attempt cost, and audits every session end once when it is back', async () => {
    const f = await startServer(['ann', 'bob', 'cid', 'dee', 'eve', 'fay'], ['--rate-limit', '0'], {}, { store: 'postgres' });
    const dbName = new URL(f.dbFile).pathname.slice(1);
    const control = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await control.connect();
    onCleanup(async () => {
      await control.query(`alter database ${dbName} allow_connections true`).catch(() => undefined);
      await control.end();
    });
    const [ann, bob, cid, dee] = [await f.json('ann'), await f.json('bob'), await f.json('cid'), await f.json('dee')];
    for (const client of [ann, bob, cid, dee]) client.answerPings();

    let sent = 0;
    const say = () => {
      ann.sendJson({ type: 'say', text: `m${sent}` });
      sent += 1;
    };
    for (let i = 0; i < 10; i += 1) say();

    // Block: no new connections, and the server's pooled ones cut.
    await control.query(`alter database ${dbName} allow_connections false`);
    const cut = await control.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName]);
    expect(cut.rowCount).toBeGreaterThan(0);
    const blockedAt = Date.now();

    // During the outage: chat goes on, newcomers are told server_busy (no attempt spent), two sessions end.
    const eve = await WireClient.connect(f.port);
    onCleanup(() => eve.close());
    const busy: JsonMessage[] = [];
    const traffic = setInterval(say, 100);
    try {
      busy.push(await eve.login('eve', 'pw-eve'));
      for (let i = 0; i < 3; i += 1) {
        eve.sendJson({ type: 'login', username: 'eve', password: 'pw-eve' });
        busy.push(await eve.waitForJson((m) => m.type === 'login_failed' || m.type === 'login_ok', 10_000, busy.length));
      }
      cid.sendJson({ type: 'quit' });
      await cid.waitForClose(5000);
      dee.close();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 8000 - (Date.now() - blockedAt))));
    } finally {
      clearInterval(traffic);
    }
    expect(busy.map((m) => m.reason)).toEqual(['server_busy', 'server_busy', 'server_busy', 'server_busy']);
    // Costing no attempt: the count of attempts left never went down.
    expect(new Set(busy.map((m) => m.attempts_left)).size).toBe(1);
    // Every message said during the outage reached bob, once, in order.
    const total = sent;
    await bob.waitForJson((m) => m.type === 'message' && m.text === `m${total - 1}`, 10_000);
    expect(bob.messages.filter((m) => m.type === 'message').map((m) => m.text)).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    expect(total).toBeGreaterThanOrEqual(70);

    // Back: the same connection logs in (the refusals cost nothing), the ends of the outage are written.
    await control.query(`alter database ${dbName} allow_connections true`);
    const back = await eventually(
      async () => {
        eve.sendJson({ type: 'login', username: 'eve', password: 'pw-eve' });
        const reply = await eve.waitForJson((m) => m.type === 'login_failed' || m.type === 'login_ok', 10_000, busy.length);
        busy.push(reply);
        return reply.type === 'login_ok' ? reply : undefined;
      },
      20_000,
      'a login after the outage',
      200,
    );
    expect(back.type).toBe('login_ok');
    const audit = async () => JSON.parse((await runAdmin(['audit', '--json', '--limit', '1000', '--db', f.dbFile])).stdout) as AuditJson;
    await eventually(
      async () => {
        const rows = await audit();
        const ends = rows.filter((r) => r.event === 'session_end').map((r) => r.username);
        return ends.includes('cid') && ends.includes('dee') ? rows : undefined;
      },
      20_000,
      'the session ends of the outage in the audit log',
      200,
    );

    // After a clean stop every session has exactly one end, and every successful login one row.
    await f.server.stop(15_000);
    const rows = await audit();
    const ends = rows.filter((r) => r.event === 'session_end');
    expect(ends.map((r) => `${r.username} ${r.reason}`).sort()).toEqual(['ann shutdown', 'bob shutdown', 'cid quit', 'dee disconnected', 'eve shutdown']);
    expect(new Set(ends.map((r) => r.sessionId)).size).toBe(5);
    const ok = rows.filter((r) => r.event === 'login' && r.outcome === 'ok').map((r) => r.username).sort();
    expect(ok).toEqual(['ann', 'bob', 'cid', 'dee', 'eve']);
  }, 90_000);
});
