/**
 * chat-admin against three instances: kick, user remove and user disable end
 * the session on whichever instance holds it within 2 s (signalled over the
 * bus, recorded in the database); `sessions` names each session's instance;
 * `instances` lists them with their counts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBus } from '../../src/bus/redis-bus.js';
import { eventually, startCluster, type TestCluster } from '../helpers/cluster.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { redisAvailable, TEST_REDIS_URL } from '../helpers/services.js';
import type { WireClient } from '../helpers/wire-client.js';

const withServices = (await postgresAvailable()) && (await redisAvailable());

interface InstanceJson {
  instanceId: string;
  pid: number;
  listenAddress: string;
  connections: number;
  users: number;
  stale: boolean;
  busPrefix: string | null;
}

describe.skipIf(!withServices)('chat-admin and three instances', { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  const idOf = new Map<number, string>();
  let bobClient: WireClient;
  beforeAll(async () => {
    // The database poll at its slowest: the bus is what makes a kick quick.
    cluster = await startCluster(3, { args: ['--admin-poll', '2s'] });
    await cluster.addUsers('ann', 'bob', 'cat', 'dan', 'eve', 'fay', 'gus');
  }, 90_000);
  afterAll(() => cluster?.stop());

  it('instances lists the three with host, pid, listen address and the counts their heartbeat writes; sessions names each session\'s instance', async () => {
    const [a, b, c] = cluster.instances as [never, never, never];
    await cluster.login(a, 'ann');
    bobClient = await cluster.login(b, 'bob');
    await cluster.login(b, 'cat');
    const idle = await cluster.connect(c);
    idle.sendJson({ type: 'hello', proto: 1 });
    const listed = await eventually(async () => {
      const result = await cluster.admin(['instances', '--json']);
      expect(result.code).toBe(0);
      const instances = JSON.parse(result.stdout) as InstanceJson[];
      const counts = instances.map((instance) => [instance.connections, instance.users]).sort();
      return JSON.stringify(counts) === JSON.stringify([[1, 0], [1, 1], [2, 2]]) ? instances : undefined;
    }, 5000, 'the counts in instances --json');
    expect(listed.map((instance) => instance.pid).sort()).toEqual(cluster.instances.map((instance) => instance.child.pid).sort());
    for (const instance of cluster.instances) {
      const row = listed.find((l) => l.pid === instance.child.pid)!;
      expect(row.listenAddress).toBe(`127.0.0.1:${instance.port}`);
      expect(row.stale).toBe(false);
      expect(row.busPrefix).toBe(cluster.prefix);
      idOf.set(instance.port, row.instanceId);
    }
    const table = await cluster.admin(['instances']);
    expect(table.stdout.split('\n')[0]).toMatch(/^id\s+host\s+pid\s+listen\s+started \(UTC\)\s+heartbeat\s+conns\s+users$/);
    expect(table.stdout).toContain(`127.0.0.1:${b.port}`);
    expect(table.stdout).toMatch(/\d+s ago\s+2\s+2\n/);

    const sessions = JSON.parse((await cluster.admin(['sessions', '--json'])).stdout) as Array<{ username: string; instanceId: string; instanceListenAddress: string }>;
    const where = Object.fromEntries(sessions.map((s) => [s.username, [s.instanceId, s.instanceListenAddress]]));
    expect(where).toEqual({
      ann: [idOf.get(a.port), `127.0.0.1:${a.port}`],
      bob: [idOf.get(b.port), `127.0.0.1:${b.port}`],
      cat: [idOf.get(b.port), `127.0.0.1:${b.port}`],
    });
    const wide = await cluster.admin(['sessions', '--wide']);
    expect(wide.stdout).toContain(`${idOf.get(a.port)} (`);
  });

  it('kick, user remove and user disable end the session on whichever instance holds it within 2 s; the others hear why', async () => {
    const [a, b, c] = cluster.instances as [never, never, never];
    const watcher = await cluster.login(a, 'gus');
    const dan = await cluster.login(c, 'dan');
    const eve = await cluster.login(b, 'eve');
    const fay = await cluster.login(c, 'fay');
    for (const [verb, client, name, reason] of [
      [['kick', 'dan', '--reason', 'calm down'], dan, 'dan', 'kicked'],
      [['user', 'remove', 'eve'], eve, 'eve', 'removed'],
      [['user', 'disable', 'fay'], fay, 'fay', 'disabled'],
    ] as const) {
      let byeAt: number | undefined;
      const byeSeen = client.waitForType('bye', 10_000).then((bye) => {
        byeAt = Date.now();
        return bye;
      });
      const result = await cluster.admin(verb);
      // chat-admin's own start (node, the database) takes a while on a loaded machine: the promise counts from its request.
      const done = Date.now();
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const bye = await byeSeen;
      expect(byeAt! - done, `${verb.join(' ')}: the bye came this long after chat-admin finished`).toBeLessThan(2000);
      expect(bye.reason).toBe(reason);
      if (reason === 'kicked') expect(bye.message).toBe('calm down');
      expect(await watcher.waitForJson((m) => m.type === 'leave' && m.user === name, 3000)).toEqual({ type: 'leave', user: name, reason });
    }
    const ends = await eventually(async () => {
      const rows = await cluster.query<{ username: string; reason: string }>(`select username, reason from audit_log where event = 'session_end' and username in ('dan', 'eve', 'fay') order by username`);
      return rows.length === 3 ? rows : undefined;
    }, 5000, 'the three ends audited');
    expect(ends).toEqual([
      { username: 'dan', reason: 'kicked' },
      { username: 'eve', reason: 'removed' },
      { username: 'fay', reason: 'disabled' },
    ]);
  });

  it('an end_session over the bus alone (nothing in the database) ends the session at once: the bus is the signal', async () => {
    const bob = (await cluster.query<{ id: string; instance_id: string }>(`select id, instance_id from sessions where username_key = 'bob'`))[0]!;
    const bus = new RedisBus({ url: TEST_REDIS_URL, keyPrefix: cluster.prefix, instanceId: `test-${randomUUID()}` });
    await bus.start();
    try {
      // A wrong session id for bob is ignored; the right one ends it.
      bus.publish({ type: 'end_session', username: 'bob', sessionId: randomUUID(), kind: 'kicked' }, { to: bob.instance_id });
      bus.publish({ type: 'end_session', username: 'bob', sessionId: bob.id, kind: 'kicked', note: 'by bus' }, { to: bob.instance_id });
      const started = Date.now();
      expect(await bobClient.waitForType('bye', 3000)).toEqual({ type: 'bye', reason: 'kicked', message: 'by bus' });
      // Nothing in the database asked for it, and it came well before these servers' 2 s poll would matter.
      expect(Date.now() - started).toBeLessThan(1500);
      const end = await eventually(async () => (await cluster.query<{ reason: string; detail: string }>(`select reason, detail from audit_log where event = 'session_end' and username = 'bob'`))[0], 3000, "bob's end audited");
      expect(end).toEqual({ reason: 'kicked', detail: 'by bus' });
    } finally {
      await bus.close();
    }
  });
});
