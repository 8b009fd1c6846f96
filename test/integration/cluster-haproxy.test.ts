/**
 * Three instances behind a real HAProxy (Debian's package) with
 * `send-proxy-v2`, as docs/cluster.md configures it: users spread over the
 * instances are one room, the real client addresses (each client binds its
 * own loopback address) reach the audit log, and the per-address login
 * throttle, kept in the database, holds for an address across every instance.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startCluster, type TestCluster } from '../helpers/cluster.js';
import { haproxyAvailable, startHaproxy, type HaproxyProcess } from '../helpers/haproxy.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { redisAvailable } from '../helpers/services.js';
import { WireClient } from '../helpers/wire-client.js';

const withServices = (await postgresAvailable()) && (await redisAvailable()) && (await haproxyAvailable());

let cluster: TestCluster | undefined;
let proxy: HaproxyProcess | undefined;
const clients: WireClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await proxy?.stop();
  await cluster?.stop();
  proxy = undefined;
  cluster = undefined;
});

async function viaProxy(from: string): Promise<WireClient> {
  const client = await WireClient.connect(proxy!.port, '127.0.0.1', 5000, from);
  clients.push(client);
  client.answerPings();
  return client;
}

describe.skipIf(!withServices)('behind HAProxy with send-proxy-v2', { timeout: 90_000 }, () => {
  it('spreads users over three instances, one room, with each client\'s own address in the audit', async () => {
    cluster = await startCluster(3, { args: ['--proxy-protocol'] });
    proxy = await startHaproxy(cluster.instances.map((instance) => instance.port));
    const names = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    await cluster.addUsers(...names);
    const users = new Map<string, WireClient>();
    for (const [i, name] of names.entries()) {
      const client = await viaProxy(`127.0.0.${i + 2}`);
      expect(await client.login(name, `pw-${name}`)).toMatchObject({ type: 'login_ok' });
      users.set(name, client);
    }
    // Round robin put them on every instance.
    const placed = await cluster.query<{ instance_id: string }>('select distinct instance_id from sessions');
    expect(placed).toHaveLength(3);
    // Everyone hears everyone else's message exactly once, never their own.
    for (const [name, client] of users) client.sendJson({ type: 'say', text: `hello from ${name}` });
    for (const [name, client] of users) {
      for (const other of names.filter((n) => n !== name)) await client.waitForJson((m) => m.type === 'message' && m.text === `hello from ${other}`, 10_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [name, client] of users) {
      const heard = client.messages.filter((m) => m.type === 'message').map((m) => m.text as string).sort();
      expect(heard).toEqual(names.filter((n) => n !== name).map((n) => `hello from ${n}`).sort());
    }
    const logins = await cluster.query<{ username: string; peer_address: string }>(`select username, peer_address from audit_log where event = 'login' and outcome = 'ok' order by username`);
    expect(logins).toEqual(names.map((name, i) => ({ username: name, peer_address: `127.0.0.${i + 2}` })));
    // HAProxy's health checks (every 500 ms, with a PROXY header) are not refusals in the instances' logs.
    for (const instance of cluster.instances) expect(instance.stdout.text).not.toMatch(/refused .*why=untrusted_proxy/);
  });

  it('locks an address that keeps guessing, on every instance, while another address logs in', async () => {
    cluster = await startCluster(3, { args: ['--proxy-protocol', '--throttle-address-failures', '4'] });
    proxy = await startHaproxy(cluster.instances.map((instance) => instance.port));
    await cluster.addUsers('shon', 'ron');
    // Four wrong guesses from 127.0.0.20, spread by round robin over the three instances.
    for (let i = 0; i < 4; i += 1) {
      const guesser = await viaProxy('127.0.0.20');
      expect(await guesser.login('shon', 'wrong')).toMatchObject({ type: 'login_failed', reason: 'invalid_credentials' });
      guesser.close();
    }
    // Now the right password from that address is refused on whichever instance it reaches, saying why.
    for (let i = 0; i < 3; i += 1) {
      const locked = await viaProxy('127.0.0.20');
      const reply = await locked.login('shon', 'pw-shon');
      expect(reply).toMatchObject({ type: 'login_failed', reason: 'invalid_credentials' });
      expect(String(reply.message)).toMatch(/too many failed logins from your address/);
      locked.close();
    }
    const elsewhere = await viaProxy('127.0.0.21');
    expect(await elsewhere.login('ron', 'pw-ron')).toMatchObject({ type: 'login_ok' });
    const throttled = await eventually(
      async () => {
        const rows = await cluster!.query<{ peer_address: string }>(`select distinct peer_address from audit_log where event = 'login' and outcome <> 'ok'`);
        return rows.length > 0 ? rows : undefined;
      },
      5000,
      'failed logins in the audit',
    );
    expect(throttled.map((r) => r.peer_address)).toEqual(['127.0.0.20']);
  });
});
