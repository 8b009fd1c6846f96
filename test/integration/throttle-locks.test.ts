import { describe, expect, it } from 'vitest';
import { runAdmin } from '../helpers/chat-server-process.js';
import { eventually, queryDb } from '../helpers/db-peek.js';
import { startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

/** One JSON login from a chosen loopback address; resolves with the reply (login_ok or login_failed). */
async function jsonLogin(port: number, from: string, username: string, password: string): Promise<Record<string, unknown>> {
  const client = await WireClient.connect(port, '127.0.0.1', 5000, from);
  try {
    return await client.login(username, password);
  } finally {
    client.close();
  }
}

function liftCommandIn(log: string, kind: 'address' | 'user'): string[] {
  const match = new RegExp(`info throttle_lock kind=${kind} .*lift="(chat-admin throttles clear [^"]+)"\\n`).exec(log);
  if (match === null) throw new Error(`no ${kind} lock logged:\n${log}`);
  return match[1]!.split(' ').slice(1);
}

describe('locks people can understand and live with (issue 10.6)', () => {
  it('an address lock says so, on both modes; its start is logged with the command that lifts it, and that command works', async () => {
    const f = await startServer(['shon'], ['--throttle-address-failures', '3']);
    const from = '127.7.0.1';
    for (let i = 0; i < 3; i += 1) expect(await jsonLogin(f.port, from, 'shon', 'wrong')).toMatchObject({ reason: 'invalid_credentials' });
    const [line] = await f.server.stdout.waitFor(/info throttle_lock kind=address key=127\.7\.0\.1 seconds=60 level=1 until=\S+ lift="[^"]+"\n/);
    expect(line).toContain(`lift="chat-admin throttles clear --address 127.7.0.1 --db ${f.dbFile}"`);

    // The right password is refused while the lock holds, and the client is told why and for how long.
    const text = await WireClient.connect(f.port, '127.0.0.1', 5000, from);
    text.write('shon\npw-shon\n');
    const [, seconds] = await text.waitForText(/! Too many failed logins from your address, try again in (\d+) s\.\n! Login failed: invalid username or password\. 2 attempt\(s\) left\.\n/);
    expect(Number(seconds)).toBeGreaterThan(0);
    expect(Number(seconds)).toBeLessThanOrEqual(60);
    text.close();
    const json = await jsonLogin(f.port, from, 'shon', 'pw-shon');
    expect(json).toMatchObject({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2, message: `too many failed logins from your address, try again in ${String(json.retry_after)} s` });

    const lifted = await runAdmin(liftCommandIn(f.server.stdout.text, 'address'));
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(await jsonLogin(f.port, from, 'shon', 'pw-shon')).toMatchObject({ type: 'login_ok' });
  });

  it('a username lock keeps the generic answer, and is logged with its lift command', async () => {
    const f = await startServer(['shon'], ['--throttle-user-failures', '2', '--throttle-address-failures', '0']);
    await jsonLogin(f.port, '127.8.0.1', 'shon', 'wrong');
    await jsonLogin(f.port, '127.8.0.2', 'shon', 'wrong');
    await f.server.stdout.waitFor(`lift="chat-admin throttles clear --user shon --db ${f.dbFile}"`);
    // Exactly the answer to a wrong password: no hint that this name is locked.
    expect(await jsonLogin(f.port, '127.8.0.3', 'shon', 'pw-shon')).toEqual({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 });
    expect(await jsonLogin(f.port, '127.8.0.3', 'shon', 'nope')).toEqual({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 });
    const lifted = await runAdmin(liftCommandIn(f.server.stdout.text, 'user'));
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(await jsonLogin(f.port, '127.8.0.3', 'shon', 'pw-shon')).toMatchObject({ type: 'login_ok' });
  });

  it('--throttle-exempt addresses are never locked as addresses; others still are', async () => {
    const f = await startServer(['shon'], ['--throttle-address-failures', '2', '--throttle-exempt', '127.9.0.0/16,::1']);
    for (let i = 0; i < 4; i += 1) await jsonLogin(f.port, '127.9.0.1', 'shon', 'wrong');
    expect(await jsonLogin(f.port, '127.9.0.1', 'shon', 'pw-shon')).toMatchObject({ type: 'login_ok' });
    for (let i = 0; i < 2; i += 1) await jsonLogin(f.port, '127.10.0.1', 'shon', 'wrong');
    expect(await jsonLogin(f.port, '127.10.0.1', 'shon', 'pw-shon')).toMatchObject({ type: 'login_failed', retry_after: expect.any(Number) });
    expect(f.server.stdout.text).not.toMatch(/throttle_lock kind=address key=127\.9\./);
    expect(f.server.stdout.text).toMatch(/throttle_lock kind=address key=127\.10\.0\.1 /);
  });

  it('a password hashed at another bcrypt cost is rehashed at the configured cost on login, and still works', async () => {
    const f = await startServer([]);
    const added = await runAdmin(['user', 'add', 'shon', '--password-stdin', '--db', f.dbFile], { input: 'secret-pw\n', env: { CHAT_BCRYPT_COST: '5' } });
    expect(added.code, added.stderr).toBe(0);
    const hashOf = () => queryDb<{ password_hash: string }>(f.dbFile, "select password_hash from users where username_key = 'shon'")[0]!.password_hash;
    expect(hashOf()).toMatch(/^\$2[aby]\$05\$/);

    const first = await WireClient.loginJson(f.port, 'shon', 'secret-pw');
    await eventually(() => /^\$2[aby]\$04\$/.test(hashOf()), 5000, 'the hash at cost 4');
    await f.server.stdout.waitFor('info rehashed user=shon from_cost=5 to_cost=4\n');
    first.sendJson({ type: 'quit' });
    await first.waitForClose();

    const again = await WireClient.loginJson(f.port, 'shon', 'secret-pw');
    again.close();
    expect(await jsonLogin(f.port, '127.0.0.1', 'shon', 'wrong')).toMatchObject({ reason: 'invalid_credentials' });
    // Already at the configured cost: nothing more is rewritten.
    expect(f.server.stdout.text.match(/info rehashed/g)).toHaveLength(1);
  });
});
