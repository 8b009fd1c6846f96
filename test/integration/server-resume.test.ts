import { createHash } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startChatServer } from '../helpers/chat-server-process.js';
import { auditRows, eventually, queryDb } from '../helpers/db-peek.js';
import { importUsers, onCleanup, startServer } from '../helpers/server-fixture.js';
import { createStoreTarget, postgresReady } from '../helpers/store-targets.js';
import { WireClient, type JsonMessage } from '../helpers/wire-client.js';
import { testBus } from '../helpers/cluster.js';
import { redisAvailable } from '../helpers/services.js';

const withRedis = await redisAvailable();
const withPostgres = await postgresReady();

// Session resumption (PROTOCOL.md additions) against the built server: tokens,
// what ends them, replacing a live session (here and on another instance),
// and that a refused token costs nothing.

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

async function resumeOn(port: number, token: unknown): Promise<{ client: WireClient; reply: JsonMessage }> {
  const client = await WireClient.connect(port);
  onCleanup(() => client.close());
  client.sendJson({ type: 'hello', proto: 1, client: 'test' });
  client.sendJson({ type: 'resume', token });
  const reply = await client.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed');
  return { client, reply };
}

async function loginOn(port: number, name: string): Promise<{ client: WireClient; token: string }> {
  const client = await WireClient.loginJson(port, name, `pw-${name}`);
  onCleanup(() => client.close());
  const ok = client.messages.find((m) => m.type === 'login_ok')!;
  return { client, token: ok.resume as string };
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

// Several server and chat-admin processes per test: a loaded machine needs more than the default 20 s.
describe('session resumption', { timeout: 60_000 }, () => {
  it('login_ok carries a token; after a dropped connection it logs in again at once, with a new token, and works once', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.json('ron');
    const { client: first, token } = await loginOn(f.port, 'shon');
    expect(token).toMatch(TOKEN);
    // Only the hash is stored.
    const stored = queryDb<{ token_hash: string }>(f.dbFile, "select token_hash from resume_tokens where username_key = 'shon'");
    expect(stored).toEqual([{ token_hash: sha256(token) }]);

    first.close();
    await ron.waitForJson((m) => m.type === 'leave' && m.user === 'shon');
    const { client: again, reply } = await resumeOn(f.port, token);
    expect(reply).toMatchObject({ type: 'login_ok', username: 'shon', users: ['ron'] });
    expect(reply.resume).toMatch(TOKEN);
    expect(reply.resume).not.toBe(token);
    await ron.waitForJson((m) => m.type === 'join' && m.user === 'shon', 5000, 1);
    again.sendJson({ type: 'say', text: 'back again', id: 'a1' });
    await again.waitForJson((m) => m.type === 'ack' && m.id === 'a1');
    expect(await ron.waitForJson((m) => m.type === 'message')).toMatchObject({ from: 'shon', text: 'back again' });

    // The used token is gone; refusing it costs no attempt.
    const { client: stale, reply: refused } = await resumeOn(f.port, token);
    expect(refused).toEqual({ type: 'login_failed', reason: 'resume_invalid', attempts_left: 3 });
    // The same connection may still log in with a password (here refused: shon is online).
    stale.sendJson({ type: 'login', username: 'ron', password: 'wrong' });
    expect(await stale.waitForJson((m) => m.type === 'login_failed', 5000, 1)).toMatchObject({ reason: 'invalid_credentials', attempts_left: 2 });

    const logins = auditRows(f.dbFile, 'login').filter((r) => r.detail?.startsWith('resume'));
    expect(logins.map((r) => [r.outcome, r.reason, r.username])).toEqual([
      ['ok', null, 'shon'],
      ['failed', 'resume_unknown', null],
    ]);
  });

  it('resuming while the old session still looks live replaces it: the old connection gets bye replaced, the others see it leave and come back', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.json('ron');
    const { client: old, token } = await loginOn(f.port, 'shon');
    // The old socket stays open, as a dead network path would leave it.
    const { client: fresh, reply } = await resumeOn(f.port, token);
    expect(reply).toMatchObject({ type: 'login_ok', username: 'shon' });
    expect(await old.waitForType('bye')).toEqual({ type: 'bye', reason: 'replaced' });
    await old.waitForClose();
    const leave = await ron.waitForJson((m) => m.type === 'leave' && m.user === 'shon');
    expect(leave.reason).toBe('disconnected');
    const events = ron.messages.filter((m) => m.type === 'join' || m.type === 'leave').map((m) => m.type);
    expect(events.slice(-2)).toEqual(['leave', 'join']);
    fresh.sendJson({ type: 'who' });
    expect(await fresh.waitForType('who')).toEqual({ type: 'who', users: ['ron', 'shon'] });
    const ends = await eventually(() => {
      const rows = auditRows(f.dbFile, 'session_end').filter((r) => r.username === 'shon');
      return rows.length > 0 && rows;
    });
    expect(ends.map((r) => r.reason)).toEqual(['replaced']);
  });

  // Two instances on one database share a bus, or the second refuses to start (docs/cluster.md).
  it.skipIf(!withRedis)('a resume on another instance ends the old session there through the database, and its end is audited once', async () => {
    const bus = testBus();
    onCleanup(bus.cleanup);
    const a = await startServer(['shon', 'ron'], bus.args);
    const b = await startChatServer({ dbFile: a.dbFile, args: bus.args });
    onCleanup(() => b.stop());
    const { client: old, token } = await loginOn(a.port, 'shon');
    const asked = Date.now();
    const { client: fresh, reply } = await resumeOn(b.port, token);
    expect(reply).toMatchObject({ type: 'login_ok', username: 'shon' });
    expect(await old.waitForType('bye', 3000)).toEqual({ type: 'bye', reason: 'replaced' });
    expect(Date.now() - asked).toBeLessThan(3000);
    fresh.sendJson({ type: 'say', text: 'on b now', id: '1' });
    await fresh.waitForJson((m) => m.type === 'ack');
    await eventually(() => queryDb(a.dbFile, 'select * from session_takeovers').length === 0, 5000, 'the takeover to be carried out');
    // Give instance a every chance to write a second end, then count.
    await eventually(() => a.server.stdout.text.includes('session_replaced'), 5000, 'the log line');
    const ends = auditRows(a.dbFile, 'session_end').filter((r) => r.username === 'shon');
    expect(ends.map((r) => r.reason)).toEqual(['replaced']);
    const live = queryDb<{ instance_id: string }>(a.dbFile, 'select instance_id from sessions where username_key = ?', 'shon');
    expect(live).toHaveLength(1);
  });

  it('quit, kick, disable, remove and a new password each end the token', async () => {
    const f = await startServer(['shon', 'ron', 'itay', 'ada', 'eve']);
    // quit
    const shon = await loginOn(f.port, 'shon');
    shon.client.sendJson({ type: 'quit' });
    await shon.client.waitForClose();
    await eventually(() => queryDb(f.dbFile, "select * from resume_tokens where username_key = 'shon'").length === 0, 5000, 'the token to go at quit');
    expect((await resumeOn(f.port, shon.token)).reply).toMatchObject({ reason: 'resume_invalid' });
    // kick
    const ron = await loginOn(f.port, 'ron');
    await f.admin(['kick', 'ron']);
    expect((await resumeOn(f.port, ron.token)).reply).toMatchObject({ reason: 'resume_invalid' });
    // disable
    const itay = await loginOn(f.port, 'itay');
    await f.admin(['user', 'disable', 'itay']);
    expect((await resumeOn(f.port, itay.token)).reply).toMatchObject({ reason: 'resume_invalid' });
    // remove
    const ada = await loginOn(f.port, 'ada');
    await f.admin(['user', 'remove', 'ada']);
    expect((await resumeOn(f.port, ada.token)).reply).toMatchObject({ reason: 'resume_invalid' });
    // a new password (the live session itself stays)
    const eve = await loginOn(f.port, 'eve');
    await f.admin(['user', 'passwd', 'eve', '--password-stdin'], 'new-secret\n');
    eve.client.close();
    expect((await resumeOn(f.port, eve.token)).reply).toMatchObject({ reason: 'resume_invalid' });
    expect(queryDb(f.dbFile, 'select * from resume_tokens')).toEqual([]);
  });

  it('a token stops working after --resume-ttl; expired rows are deleted', async () => {
    const f = await startServer(['shon'], ['--resume-ttl', '1s']);
    const { client, token } = await loginOn(f.port, 'shon');
    client.close();
    const issued = queryDb<{ expires_at: string }>(f.dbFile, 'select expires_at from resume_tokens')[0]!;
    // Waiting for the clock is the point here: the token must outlive its expiry time.
    await eventually(() => Date.now() > Date.parse(issued.expires_at) + 50, 5000, 'the expiry time');
    expect((await resumeOn(f.port, token)).reply).toMatchObject({ reason: 'resume_invalid' });
    expect(auditRows(f.dbFile, 'login').at(-1)).toMatchObject({ outcome: 'failed', reason: 'resume_expired', username: 'shon' });
    expect(queryDb(f.dbFile, 'select * from resume_tokens')).toEqual([]);
  });

  it('--resume-ttl off: no token in login_ok, and resume is refused; text mode never gets one', async () => {
    const off = await startServer(['shon'], ['--resume-ttl', 'off']);
    const { token } = await loginOn(off.port, 'shon');
    expect(token).toBeUndefined();
    expect((await resumeOn(off.port, 'x'.repeat(43))).reply).toMatchObject({ reason: 'resume_invalid', attempts_left: 3 });

    const on = await startServer(['ron']);
    const text = await on.text('ron');
    expect(text.text).not.toMatch(/resume/i);
    expect(queryDb(on.dbFile, 'select * from resume_tokens')).toEqual([]);
  });

  it('refused tokens cost no attempt and lock nothing; one resume per connection; a malformed one is refused alike', async () => {
    const f = await startServer(['shon'], ['--throttle-address-failures', '3']);
    for (let i = 0; i < 5; i += 1) {
      const { client, reply } = await resumeOn(f.port, `guess-${i}`);
      expect(reply).toEqual({ type: 'login_failed', reason: 'resume_invalid', attempts_left: 3 });
      // A second try on the same connection is refused without a lookup.
      client.sendJson({ type: 'resume', token: `guess-${i}-again` });
      expect(await client.waitForJson((m) => m.type === 'login_failed', 5000, 1)).toMatchObject({ reason: 'resume_invalid', attempts_left: 3 });
      client.close();
    }
    const { reply: malformed } = await resumeOn(f.port, 42);
    expect(malformed).toMatchObject({ reason: 'resume_invalid', attempts_left: 3 });
    expect(queryDb(f.dbFile, 'select * from login_throttles')).toEqual([]);
    await f.json('shon');
  });

  describe.skipIf(!withPostgres || !withRedis)('on PostgreSQL (READ COMMITTED), two instances', () => {
    it('of 10 resumes racing with one token on two instances exactly one gets in; it takes the seat from the other instance, whose connection ends', async () => {
      const target = await createStoreTarget('postgres');
      onCleanup(() => target.remove());
      await importUsers(target.location, ['shon']);
      const bus = testBus();
      onCleanup(bus.cleanup);
      const a = await startChatServer({ dbFile: target.location, args: bus.args });
      onCleanup(() => a.stop());
      const b = await startChatServer({ dbFile: target.location, args: bus.args });
      onCleanup(() => b.stop());
      const { client: old, token } = await loginOn(a.port, 'shon');
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => resumeOn(i % 2 === 0 ? a.port : b.port, token)));
      const winners = replies.filter((r) => r.reply.type === 'login_ok');
      expect(winners).toHaveLength(1);
      expect(replies.filter((r) => r.reply.type === 'login_failed').map((r) => r.reply.reason)).toEqual(Array(9).fill('resume_invalid'));
      expect(await old.waitForType('bye', 3000)).toEqual({ type: 'bye', reason: 'replaced' });
      // The winner's new token works once more, on either instance.
      const next = winners[0]!.reply.resume as string;
      winners[0]!.client.close();
      const again = await resumeOn(a.port, next);
      expect(again.reply).toMatchObject({ type: 'login_ok', username: 'shon' });
    });

    it('a resume racing with the reaping of the instance that held the session does not deadlock with it: the reaper goes first, then the resume gets in', async () => {
      // A reaper (instance-registry #reap) locks the dead instance's row, then deletes its sessions. A resume
      // that took the session row first and then waited for the instance row deadlocked with it, and one of
      // the two was aborted a second later (PostgreSQL's deadlock check): during a failover storm, a convoy.
      const { b, token, sql: reaper, old, waitForResumeToBlock } = await sessionOnOtherInstance();
      await reaper.query('begin');
      await reaper.query('select id from instances where id = $1 for update', [old.instance_id]);
      const resuming = resumeOn(b.port, token);
      await waitForResumeToBlock('the resume to wait for the reaper');
      // Deleting the sessions does not wait for the resume (which would hold shon's row by now if it had taken it first).
      await reaper.query(`set local lock_timeout = '3s'`);
      const deleted = await reaper.query(`delete from sessions where instance_id = $1 returning username`, [old.instance_id]);
      expect(deleted.rows).toEqual([{ username: 'shon' }]);
      await reaper.query('commit');
      const { reply } = await resuming;
      expect(reply).toMatchObject({ type: 'login_ok', username: 'shon' });
      // The reaper took the old session (and audits its end); the resume found none to replace.
      const rows = (await reaper.query<{ detail: string }>(`select detail from audit_log where event = 'login' and outcome = 'ok' order by id desc limit 1`)).rows;
      expect(rows[0]!.detail).toBe('resume');
    });

    it('a session that ends by itself while a resume on another instance replaces it is audited once', async () => {
      // The resume read the old row, then its own server took the row out and audited the end (the client left):
      // the resume's release finds nothing, and it must not write a second end ('replaced') for that session.
      const { b, token, sql: writer, old, waitForResumeToBlock } = await sessionOnOtherInstance();
      // As the old session's own server ends it: its row out, then its end audited, in one transaction.
      await writer.query('begin');
      await writer.query('delete from sessions where id = $1', [old.id]);
      const resuming = resumeOn(b.port, token);
      await waitForResumeToBlock('the resume to wait for the row');
      await writer.query(`insert into audit_log (ts, event, username, username_key, reason, instance_id, session_id) values ($1, 'session_end', 'shon', 'shon', 'disconnected', $2, $3)`, [new Date().toISOString(), old.instance_id, old.id]);
      await writer.query('commit');
      const { reply } = await resuming;
      expect(reply).toMatchObject({ type: 'login_ok', username: 'shon' });
      const ends = (await writer.query<{ reason: string }>(`select reason from audit_log where event = 'session_end' and session_id = $1`, [old.id])).rows;
      expect(ends).toEqual([{ reason: 'disconnected' }]);
    });
  });
});

/**
 * Two instances on a PostgreSQL database of the test's own, shon logged in on
 * the first (`old`: that session's row), and a connection of the test's own
 * (`sql`) to play another transaction: a reaper, or the first instance ending
 * the session. `waitForResumeToBlock` resolves once some statement waits for
 * a lock that transaction holds.
 */
async function sessionOnOtherInstance() {
  const target = await createStoreTarget('postgres');
  onCleanup(() => target.remove());
  await importUsers(target.location, ['shon']);
  const bus = testBus();
  onCleanup(bus.cleanup);
  const a = await startChatServer({ dbFile: target.location, args: bus.args });
  onCleanup(() => a.stop());
  const b = await startChatServer({ dbFile: target.location, args: bus.args });
  onCleanup(() => b.stop());
  const { token } = await loginOn(a.port, 'shon');
  const sql = new pg.Client({ connectionString: target.location });
  await sql.connect();
  onCleanup(() => sql.end().catch(() => undefined));
  const [old] = (await sql.query<{ id: string; instance_id: string }>(`select id, instance_id from sessions where username = 'shon'`)).rows as [{ id: string; instance_id: string }];
  const database = new URL(target.location).pathname.slice(1);
  const waitForResumeToBlock = (what: string) =>
    eventually(async () => (await sql.query(`select 1 from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [database])).rowCount! > 0, 10_000, what, 20);
  return { b, token, sql, old, waitForResumeToBlock };
}
