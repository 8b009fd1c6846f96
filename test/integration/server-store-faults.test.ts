import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startChatServer } from '../helpers/chat-server-process.js';
import { auditRows, eventually, queryDb } from '../helpers/db-peek.js';
import { holdWriteLock } from '../helpers/db-lock.js';
import { importUsers, keptDir, onCleanup, startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

/** Runs SQL on the database from outside the server, as an operator's sqlite3 shell would. */
function execSql(dbFile: string, sql: string): void {
  const db = new Database(dbFile, { timeout: 5000 });
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

const FAST_FAIL = ['--busy-timeout', '100ms'];

describe('a database that fails under the server', () => {
  it('a login whose audit write fails after the claim leaves no session row behind (server_busy, no attempt used)', async () => {
    const f = await startServer(['shon']);
    // A real fault at exactly that point: the successful-login audit row cannot be inserted.
    execSql(f.dbFile, `create trigger refuse_login_ok before insert on audit_log when new.event = 'login' and new.outcome = 'ok'
      begin select raise(abort, 'audit refused'); end`);
    const client = await WireClient.connect(f.port);
    expect(await client.login('shon', 'pw-shon')).toEqual({ type: 'login_failed', reason: 'server_busy', attempts_left: 3 });
    expect(queryDb(f.dbFile, 'select * from sessions')).toEqual([]);
    execSql(f.dbFile, 'drop trigger refuse_login_ok');
    client.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
    const reply = await client.waitForJson((m) => m.type === 'login_ok' || (m.type === 'login_failed' && m.reason !== 'server_busy'));
    expect(reply.type).toBe('login_ok');
  });

  it('a login meeting a write lock held past the busy timeout waits a bounded time, then gets server_busy at no attempt cost', async () => {
    const f = await startServer(['shon']);
    const lock = await holdWriteLock(f.dbFile);
    onCleanup(() => lock.release());
    const client = await WireClient.connect(f.port);
    client.sendJson({ type: 'hello', proto: 1 });
    await client.waitForType('hello');
    const started = Date.now();
    client.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
    // Bounded by the smaller of the login's store wait (3 s) and the busy timeout (5 s by default).
    expect(await client.waitForJson((m) => m.type === 'login_failed', 8000)).toEqual({ type: 'login_failed', reason: 'server_busy', attempts_left: 3 });
    expect(Date.now() - started).toBeLessThan(6500);
    await lock.release();
    client.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
    expect((await client.waitForJson((m) => m.type === 'login_ok' || (m.type === 'login_failed' && m.attempts_left !== 3), 8000)).type).toBe('login_ok');
    await eventually(() => queryDb(f.dbFile, 'select * from sessions').length === 1, 5000, 'one session row, the live one');
  });

  it('session ends that meet a locked database are written once it is free; the users are not stranded', async () => {
    const f = await startServer(['ann', 'bob', 'cid'], FAST_FAIL);
    const ann = await f.text('ann');
    const bob = await f.json('bob');
    const cid = await f.json('cid');
    const lock = await holdWriteLock(f.dbFile);
    onCleanup(() => lock.release());
    ann.write('c.exit\n');
    await ann.waitForClose();
    bob.sendJson({ type: 'quit' });
    await bob.waitForClose();
    cid.socket.resetAndDestroy();
    // While the lock holds, a login cannot be recorded: it is refused as busy, at no attempt's cost.
    const early = await WireClient.connect(f.port);
    expect(await early.login('ann', 'pw-ann')).toEqual({ type: 'login_failed', reason: 'server_busy', attempts_left: 3 });
    early.close();
    await lock.release();
    for (const name of ['ann', 'bob', 'cid']) {
      const client = await WireClient.connect(f.port);
      const reply = await client.login(name, `pw-${name}`);
      client.close();
      expect([name, reply.type]).toEqual([name, 'login_ok']);
    }
    const ends = await eventually(() => {
      const rows = auditRows(f.dbFile, 'session_end');
      return rows.length >= 6 ? rows : undefined;
    }, 10_000, 'six session ends');
    const first = ends.slice(0, 3).map((r) => [r.username, r.reason]);
    expect(first).toEqual([
      ['ann', 'quit'],
      ['bob', 'quit'],
      ['cid', 'disconnected'],
    ]);
    await eventually(() => queryDb(f.dbFile, 'select * from sessions').length === 0, 10_000, 'no session row left');
    expect(auditRows(f.dbFile, 'session_end')).toHaveLength(6);
  });

  it('SIGTERM with the database locked still exits within its grace; the ends are written at the next start, once', { timeout: 60_000 }, async () => {
    const dir = keptDir();
    const dbFile = join(dir, 'chat.db');
    const server = await startChatServer({ dbFile, args: FAST_FAIL });
    onCleanup(() => server.stop());
    await importUsers(dbFile, ['ann', 'bob']);
    const ann = await WireClient.loginJson(server.port, 'ann', 'pw-ann');
    const bob = await WireClient.loginText(server.port, 'bob', 'pw-bob');
    onCleanup(() => {
      ann.close();
      bob.close();
    });
    const lock = await holdWriteLock(dbFile);
    onCleanup(() => lock.release());
    const started = Date.now();
    expect(await server.stop(6000)).toBe(0);
    // The default grace is 2 s; the writes get at most half a second more.
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await ann.waitForType('bye')).toEqual({ type: 'bye', reason: 'shutdown' });
    expect(existsSync(`${dbFile}.unwritten-ends`)).toBe(true);
    expect(auditRows(dbFile, 'session_end')).toEqual([]);
    await lock.release();

    const next = await startChatServer({ dbFile, args: FAST_FAIL });
    onCleanup(() => next.stop());
    const ends = await eventually(() => {
      const rows = auditRows(dbFile, 'session_end');
      return rows.length >= 2 ? rows : undefined;
    }, 10_000, 'the spooled ends written');
    expect(ends.map((r) => [r.username, r.reason]).sort()).toEqual([
      ['ann', 'shutdown'],
      ['bob', 'shutdown'],
    ]);
    expect(existsSync(`${dbFile}.unwritten-ends`)).toBe(false);
    expect(queryDb(dbFile, 'select * from sessions')).toEqual([]);
    // A second restart replays nothing and doubles nothing.
    const nextCode = await next.stop(6000);
    expect(nextCode).toBe(0);
    const third = await startChatServer({ dbFile });
    onCleanup(() => third.stop());
    expect(auditRows(dbFile, 'session_end')).toHaveLength(2);
    const client = await WireClient.loginJson(third.port, 'ann', 'pw-ann');
    client.close();
  });
});
