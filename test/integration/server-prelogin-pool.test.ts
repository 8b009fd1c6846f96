import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

const EVICTED_MESSAGE = 'the server is full of logins in progress, and yours had waited longest of the busiest network';
const POOL_FULL = '! Server busy: too many logins in progress. Try again later.\n';
const NETWORK_FULL = '! Too many logins in progress from your network. Try again later.\n';

/** Opens `count` silent connections, the i-th from `address(i)`. */
async function silent(port: number, count: number, address: (i: number) => string): Promise<WireClient[]> {
  const clients: WireClient[] = [];
  for (let i = 0; i < count; i++) clients.push(await WireClient.connect(port, '127.0.0.1', 5000, address(i)));
  return clients;
}

/** Resolves once the client was greeted or closed (refused, or evicted later). */
function settled(client: WireClient): Promise<unknown> {
  return Promise.race([client.waitForClose(15_000), client.waitForText('Username: ', 15_000).catch(() => client.waitForClose(15_000))]);
}

async function loginFrom(port: number, localAddress: string): Promise<WireClient> {
  const user = await WireClient.connect(port, '127.0.0.1', 5000, localAddress);
  user.write('shon\npw-shon\n');
  await user.waitForText('* Welcome, shon!');
  return user;
}

describe('a full pre-login pool (issue 10.2)', () => {
  it("the issue's probe, default limits: 320 silent connections from 40 addresses of one /24 leave room for everyone else", async () => {
    const f = await startServer(['shon']);
    const attackers = await silent(f.port, 320, (i) => `127.1.0.${1 + (i % 40)}`);
    try {
      await Promise.all(attackers.slice(64).map((client) => client.waitForClose()));
      for (const client of attackers.slice(64)) expect(client.text).toBe(NETWORK_FULL);
      await Promise.all(attackers.slice(0, 64).map((client) => client.waitForText('Username: ')));
      (await loginFrom(f.port, '127.2.0.1')).close();
      expect(attackers.slice(0, 64).filter((client) => client.closed)).toHaveLength(0);
    } finally {
      for (const client of attackers) client.close();
    }
  }, 60_000);

  it('when several /24s fill the pool, a user from another /24 takes the place of the oldest pending login of the busiest one', async () => {
    const f = await startServer(['shon']);
    // Five /24s, 8 addresses each, 8 connections per address: 320 for 256 places.
    const attackers = await silent(f.port, 320, (i) => `127.1.${i % 5}.${1 + (Math.floor(i / 5) % 8)}`);
    try {
      // Attackers from less busy /24s evict each other too; once settled, exactly 256 are left waiting.
      await Promise.all(attackers.map((client) => settled(client)));
      const waiting = attackers.filter((client) => !client.closed);
      expect(waiting).toHaveLength(256);
      for (const client of attackers.filter((c) => c.closed)) expect([POOL_FULL, `! Login timed out: ${EVICTED_MESSAGE}. Goodbye.\n`]).toContain(client.text.replace(/^chat-server: .*\nUsername: /, ''));

      // Loopback ports repeat across local addresses: a client is its address and port.
      const byPeer = new Map(waiting.map((client) => [`${client.socket.localAddress}:${client.socket.localPort}`, client]));
      const user = await WireClient.connect(f.port, '127.0.0.1', 5000, '127.2.0.1');
      await user.waitForText('Username: ');
      // One pending login of the busiest attacker /24 made room, and was told why.
      const [, peer] = await f.server.stdout.waitFor(/info refused peer=(127\.1\.\d\.\d:\d+) why=prelogin_evicted for=127\.2\.0\.1:\d+\n/);
      const evicted = byPeer.get(peer!)!;
      await evicted.waitForClose();
      expect(evicted.text).toContain(`! Login timed out: ${EVICTED_MESSAGE}. Goodbye.\n`);
      expect(waiting.filter((client) => client.closed)).toHaveLength(1);

      // More attackers keep coming: they may evict each other, never the user, whose network is the least busy.
      const more = await silent(f.port, 40, (i) => `127.1.${i % 5}.${9 + Math.floor(i / 5)}`);
      await Promise.all(more.map((client) => settled(client)));
      expect(user.closed).toBe(false);
      user.write('shon\npw-shon\n');
      await user.waitForText('* Welcome, shon!');
      for (const client of [user, ...more]) client.close();
    } finally {
      for (const client of attackers) client.close();
    }
  }, 60_000);

  it('an evicted JSON client reads a bye; --max-prelogin-per-prefix caps one network', async () => {
    const f = await startServer(['shon'], ['--max-prelogin', '4', '--max-prelogin-per-prefix', '3', '--max-prelogin-per-address', '0']);
    const json = await WireClient.connect(f.port, '127.0.0.1', 5000, '127.3.0.1');
    json.sendJson({ type: 'hello', proto: 1 });
    await json.waitForType('hello');
    const others = await silent(f.port, 2, (i) => `127.3.0.${2 + i}`);
    const capped = await WireClient.connect(f.port, '127.0.0.1', 5000, '127.3.0.9');
    await capped.waitForClose();
    expect(capped.text).toBe(NETWORK_FULL);
    const fourth = await WireClient.connect(f.port, '127.0.0.1', 5000, '127.4.0.1');
    await fourth.waitForText('Username: ');
    // Full (3 + 1): a newcomer from a fresh network evicts the oldest login of 127.3.0.0/24, the JSON one.
    const user = await loginFrom(f.port, '127.5.0.1');
    await json.waitForClose();
    expect(json.messages.at(-1)).toEqual({ type: 'bye', reason: 'login_timeout', message: EVICTED_MESSAGE });
    expect(others.some((client) => client.closed)).toBe(false);
    for (const client of [user, fourth, ...others]) client.close();
  });
});
