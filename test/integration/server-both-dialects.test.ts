import { describe, expect, it } from 'vitest';
import { expectOk, makeAdminFixture } from '../helpers/chat-admin.js';
import { startServer, type ServerFixture } from '../helpers/server-fixture.js';
import { postgresReady, STORE_KINDS } from '../helpers/store-targets.js';
import { WireClient } from '../helpers/wire-client.js';

// The server and chat-admin paths that go through the store, run on each
// dialect: a SQLite file, and a PostgreSQL database of the test's own
// (dropped after). Everything is observed as users and admins see it: the
// wire, and chat-admin's --json output.

const withPostgres = await postgresReady();

async function jsonLogin(port: number, from: string, username: string, password: string): Promise<Record<string, unknown>> {
  const client = await WireClient.connect(port, '127.0.0.1', 10_000, from);
  try {
    return await client.login(username, password);
  } finally {
    client.close();
  }
}

async function adminJson<T>(f: ServerFixture, args: readonly string[]): Promise<T> {
  return JSON.parse(await f.admin([...args, '--json'])) as T;
}

type AuditJson = Array<{ event: string; username: string | null; outcome: string | null; reason: string | null }>;

/** Polls chat-admin until `accept` holds (a server writes its audit rows as it goes). */
async function eventuallyAdmin<T>(f: ServerFixture, args: readonly string[], accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await adminJson<T>(f, args);
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`chat-admin ${args.join(' ')} never showed what was awaited: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.each(STORE_KINDS)('chat-server and chat-admin on %s', (kind) => {
  describe.skipIf(kind === 'postgres' && !withPostgres)('', () => {
    it('logs in, refuses a wrong password, an unknown name and a second session alike, and audits each', async () => {
      const f = await startServer(['shon', 'ron'], [], {}, { store: kind });
      const shon = await f.json('shon');
      expect(await jsonLogin(f.port, '127.0.0.2', 'ron', 'wrong')).toMatchObject({ type: 'login_failed', reason: 'invalid_credentials' });
      expect(await jsonLogin(f.port, '127.0.0.2', 'ghost', 'pw')).toMatchObject({ type: 'login_failed', reason: 'invalid_credentials' });
      expect(await jsonLogin(f.port, '127.0.0.2', 'SHON', 'pw-shon')).toMatchObject({ type: 'login_failed', reason: 'already_logged_in' });
      const sessions = await adminJson<Array<{ username: string }>>(f, ['sessions']);
      expect(sessions.map((s) => s.username)).toEqual(['shon']);
      const logins = await adminJson<AuditJson>(f, ['audit', '--event', 'login']);
      expect(logins.map((r) => `${r.username} ${r.outcome} ${r.reason}`).sort()).toEqual(
        ['SHON failed already_logged_in', 'ghost failed unknown_user', 'ron failed bad_password', 'shon ok null'].sort(),
      );
      shon.sendJson({ type: 'quit' });
      await shon.waitForClose();
      await eventuallyAdmin<AuditJson>(f, ['audit', '--event', 'session_end'], (rows) => rows.some((r) => r.username === 'shon'));
      expect(await adminJson<unknown[]>(f, ['sessions'])).toEqual([]);
    }, 60_000);

    it('delivers each message to every other user, in order, never to its sender', async () => {
      const f = await startServer(['a', 'b', 'c'], ['--rate-limit', '0'], {}, { store: kind });
      const [a, b, c] = [await f.json('a'), await f.json('b'), await f.json('c')];
      for (let i = 0; i < 20; i += 1) a.sendJson({ type: 'say', text: `a${i}` });
      for (const client of [b, c]) await client.waitForJson((m) => m.type === 'message' && m.text === 'a19', 10_000);
      for (const client of [b, c]) expect(client.messages.filter((m) => m.type === 'message').map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
      expect(a.messages.filter((m) => m.type === 'message')).toEqual([]);
    }, 60_000);

    it('admin verbs: user add/list, disable ends the live session, kick, audit shows who did what', async () => {
      const f = await startServer(['shon', 'ron'], [], {}, { store: kind });
      await f.admin(['user', 'add', 'dana', '--password-stdin'], 'pw-dana\n');
      const users = await adminJson<Array<{ username: string; disabled: boolean }>>(f, ['user', 'list']);
      expect(users.map((u) => u.username)).toEqual(['dana', 'ron', 'shon']);
      const shon = await f.json('shon');
      const ron = await f.json('ron');
      await f.admin(['user', 'disable', 'shon']);
      expect(await shon.waitForType('bye', 2500)).toEqual({ type: 'bye', reason: 'disabled' });
      expect(await ron.waitForJson((m) => m.type === 'leave' && m.user === 'shon')).toMatchObject({ reason: 'disabled' });
      expect(await jsonLogin(f.port, '127.0.0.3', 'shon', 'pw-shon')).toMatchObject({ reason: 'disabled' });
      await f.admin(['kick', 'ron', '--reason', 'enough']);
      expect(await ron.waitForType('bye', 2500)).toEqual({ type: 'bye', reason: 'kicked', message: 'enough' });
      const ends = await eventuallyAdmin<AuditJson>(f, ['audit', '--event', 'session_end'], (rows) => rows.length === 2);
      expect(ends.map((r) => `${r.username} ${r.reason}`).sort()).toEqual(['ron kicked', 'shon disabled']);
      const admin = await adminJson<AuditJson>(f, ['audit']);
      expect(admin.filter((r) => ['user_add', 'user_disable', 'kick'].includes(r.event)).map((r) => `${r.event} ${r.username}`)).toEqual([
        'kick ron',
        'user_disable shon',
        'user_add dana',
        'user_add ron',
        'user_add shon',
      ]);
    }, 60_000);

    it('locks an address after its failures and lets it in again once chat-admin clears it', async () => {
      const f = await startServer(['shon'], ['--throttle-address-failures', '3'], {}, { store: kind });
      const from = '127.8.0.1';
      for (let i = 0; i < 3; i += 1) expect(await jsonLogin(f.port, from, 'shon', 'wrong')).toMatchObject({ reason: 'invalid_credentials' });
      expect(await jsonLogin(f.port, from, 'shon', 'pw-shon')).toMatchObject({ type: 'login_failed', retry_after: expect.any(Number) });
      const throttles = await adminJson<Array<{ kind: string; key: string; lockedUntil: string | null; penaltyLevel: number }>>(f, ['throttles']);
      expect(throttles.find((t) => t.kind === 'address' && t.key === from)).toMatchObject({ penaltyLevel: 1, lockedUntil: expect.any(String) });
      expect(await f.admin(['throttles', 'clear', '--address', from])).toBe(`cleared 1 throttle for address ${from}\n`);
      expect(await jsonLogin(f.port, from, 'shon', 'pw-shon')).toMatchObject({ type: 'login_ok' });
    }, 60_000);

    it('counts 40 failed logins that arrive at once exactly, and locks the username when due', async () => {
      const f = await startServer(['victim'], ['--throttle-address-failures', '0', '--throttle-user-failures', '40', '--max-prelogin-per-address', '0', '--login-queue', '0'], {}, { store: kind });
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => jsonLogin(f.port, `127.9.${i}.1`, 'victim', `wrong${i}`)));
      expect(replies.every((r) => r.reason === 'invalid_credentials')).toBe(true);
      // The 40th failure (from 40 addresses) locks the username: exactly once, so each of the 40 was counted.
      const [line] = await f.server.stdout.waitFor(/info throttle_lock kind=user key=victim .*\n/, 10_000);
      expect(line).toContain('level=1');
      expect(f.server.stdout.text.match(/throttle_lock/g)).toHaveLength(1);
      const rows = await adminJson<Array<{ kind: string; key: string; penaltyLevel: number; lockedUntil: string | null }>>(f, ['throttles']);
      expect(rows).toEqual([expect.objectContaining({ kind: 'user', key: 'victim', penaltyLevel: 1, lockedUntil: expect.any(String) })]);
      expect(await adminJson<AuditJson>(f, ['audit', '--event', 'login', '--limit', '100'])).toHaveLength(40);
    }, 60_000);

    it('runs chat-admin against the store alone (no server): add, passwd, remove, audit', async () => {
      const f = await makeAdminFixture(kind);
      try {
        expectOk(await f.admin(['user', 'add', 'zed', '--password-stdin'], { stdin: 'pw-1\n' }));
        expectOk(await f.admin(['user', 'passwd', 'zed', '--password-stdin'], { stdin: 'pw-2\n' }));
        expectOk(await f.admin(['user', 'remove', 'zed']));
        const audit = await f.admin(['audit', '--json']);
        expect((JSON.parse(audit.stdout) as AuditJson).map((r) => r.event)).toEqual(['user_remove', 'user_passwd', 'user_add']);
      } finally {
        await f.remove();
      }
    }, 60_000);
  });
});
