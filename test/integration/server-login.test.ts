import { describe, expect, it } from 'vitest';
import { auditRows, eventually, queryDb } from '../helpers/db-peek.js';
import { startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';
import { runAdmin } from '../helpers/chat-server-process.js';

async function attempt(port: number, username: string, password: string): Promise<{ reply: Record<string, unknown>; ms: number; client: WireClient }> {
  const client = await WireClient.connect(port);
  client.sendJson({ type: 'hello', proto: 1 });
  await client.waitForType('hello');
  const started = performance.now();
  client.sendJson({ type: 'login', username, password });
  const reply = await client.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed', 10_000);
  return { reply, ms: performance.now() - started, client };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('login', () => {
  it('lets exactly one of two racing logins for one user win; the other is already_logged_in', async () => {
    const f = await startServer(['shon']);
    for (let round = 0; round < 3; round += 1) {
      const clients = await Promise.all([WireClient.connect(f.port), WireClient.connect(f.port)]);
      for (const c of clients) c.sendJson({ type: 'hello', proto: 1 });
      for (const c of clients) c.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
      const replies = await Promise.all(clients.map((c) => c.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed')));
      expect(replies.map((r) => r.type).sort()).toEqual(['login_failed', 'login_ok']);
      expect(replies.find((r) => r.type === 'login_failed')).toEqual({ type: 'login_failed', reason: 'already_logged_in', attempts_left: 2 });
      for (const c of clients) c.close();
      await eventually(() => queryDb(f.dbFile, 'select * from sessions').length === 0, 5000, 'sessions to be released');
    }
  });

  it('refuses a second login while the first is live, in text mode with the exact wording', async () => {
    const f = await startServer(['shon']);
    await f.json('shon');
    const second = await f.connect();
    second.write('shon\npw-shon\n');
    await second.waitForText('! Login failed: already logged in. 2 attempt(s) left.\n* This user is already logged in elsewhere: log out there first (c.exit), or ask an administrator to end that session.\nUsername: ');
  });

  it('counts failed attempts per connection, not for the whole server', async () => {
    const f = await startServer(['shon']);
    const a = await f.connect();
    a.write('shon\nbad\nshon\nbad\n');
    await a.waitForText('1 attempt(s) left.');
    const b = await f.connect();
    b.write('shon\nbad\n');
    await b.waitForText('! Login failed: invalid username or password. 2 attempt(s) left.\n');
    a.write('shon\npw-shon\n');
    await a.waitForText('* Welcome, shon!');
  });

  it('gives an unknown user the same answer as a wrong password, in about the same time', async () => {
    // Cost 10 makes one compare take tens of milliseconds, so skipping it would show. The dummy has the configured cost.
    const f = await startServer([], ['--bcrypt-cost', '10']);
    const added = await runAdmin(['user', 'add', 'shon', '--password-stdin', '--db', f.dbFile, '--bcrypt-cost', '10'], { input: 'right\n' });
    expect(added.code).toBe(0);
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const w = await attempt(f.port, 'shon', 'wrong');
      const u = await attempt(f.port, 'nobody', 'wrong');
      expect(w.reply).toEqual(u.reply);
      expect(w.reply).toEqual({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 });
      wrong.push(w.ms);
      unknown.push(u.ms);
      w.client.close();
      u.client.close();
    }
    const ratio = median(unknown) / median(wrong);
    // Skipping the dummy compare shows as a ratio near 0.05; the bounds leave room for a noisy machine.
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(2.5);
  });

  it('says "account disabled" only to someone with the right password', async () => {
    const f = await startServer(['shon']);
    await f.admin(['user', 'disable', 'shon']);
    const wrong = await attempt(f.port, 'shon', 'bad');
    expect(wrong.reply).toMatchObject({ reason: 'invalid_credentials' });
    const right = await attempt(f.port, 'shon', 'pw-shon');
    expect(right.reply).toMatchObject({ reason: 'disabled', attempts_left: 2 });
    const text = await f.connect();
    text.write('shon\npw-shon\n');
    await text.waitForText('! Login failed: account disabled. 2 attempt(s) left.\n* This account is disabled: ask an administrator to enable it again.\nUsername: ');
  });

  it('audits every outcome before answering and logs failures in the fail2ban shape', async () => {
    const f = await startServer(['shon', 'ron']);
    await f.admin(['user', 'disable', 'ron']);
    const ok = await f.json('shon');
    const results = [await attempt(f.port, 'shon', 'pw-shon'), await attempt(f.port, 'ghost', 'x'), await attempt(f.port, 'shon', 'bad'), await attempt(f.port, 'ron', 'pw-ron')];
    // Audit rows are committed before the reply, so they are there now, without waiting.
    const logins = auditRows(f.dbFile, 'login');
    expect(logins.map((r) => [r.username, r.outcome, r.reason])).toEqual([
      ['shon', 'ok', null],
      ['shon', 'failed', 'already_logged_in'],
      ['ghost', 'failed', 'unknown_user'],
      ['shon', 'failed', 'bad_password'],
      ['ron', 'failed', 'disabled'],
    ]);
    for (const row of logins) {
      expect(row.peer_address).toBe('127.0.0.1');
      expect(row.mode).toBe('json');
    }
    await f.server.stdout.waitFor('Failed login for ghost from 127.0.0.1');
    expect(f.server.stdout.text).toContain('Failed login for shon from 127.0.0.1');
    expect(f.server.stdout.text).not.toContain('pw-shon');
    ok.sendJson({ type: 'quit' });
    await ok.waitForClose();
    for (const r of results) r.client.close();
    const ended = await eventually(() => auditRows(f.dbFile, 'session_end').find((r) => r.username === 'shon'), 5000, 'session_end row');
    expect(ended.reason).toBe('quit');
    expect(ended.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('escapes and caps a hostile username before it reaches the log or the audit', async () => {
    const f = await startServer(['shon']);
    const evil = `\u001b[2J\u001b]0;x\u0007${'e'.repeat(500)}`;
    const { reply } = await attempt(f.port, evil, 'x');
    expect(reply).toMatchObject({ reason: 'invalid_credentials' });
    const [row] = auditRows(f.dbFile, 'login');
    // 64 characters kept (counted before escaping), each control shown as an escape, never deleted.
    expect(row!.username).toBe(`\\x1b[2J\\x1b]0;x\\x07${'e'.repeat(64 - 10)}…`);
    expect(f.server.stdout.text).not.toContain('\u001b');
    expect(f.server.stdout.text).toContain('Failed login for \\x1b[2J\\x1b]0;x\\x07eee');
  });
});
