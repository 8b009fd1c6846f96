/**
 * An instance that dies (kill -9) or stops answering (SIGSTOP: as good as cut
 * off, its process still there): within 5 s its users can log in through
 * another instance and the others' members get `leave` (disconnected) for
 * each; its audit rows are kept and each session's end is audited once. The
 * stalled one, woken, finds it was cleared: its clients are told, and it
 * registers again and serves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitForExit } from '../helpers/chat-server-process.js';
import { eventually, startCluster, type TestCluster } from '../helpers/cluster.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { redisAvailable } from '../helpers/services.js';
import type { WireClient } from '../helpers/wire-client.js';

const withServices = (await postgresAvailable()) && (await redisAvailable());

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** Logs `name` in on `port`, retrying `already_logged_in` until `deadlineMs` from now; resolves with the time it took. */
async function loginAgain(cluster: TestCluster, instance: TestCluster['instances'][number], name: string, since: number, deadlineMs: number): Promise<number> {
  for (;;) {
    const client = await cluster.connect(instance);
    const reply = await client.login(name, `pw-${name}`);
    if (reply.type === 'login_ok') return Date.now() - since;
    client.close();
    expect(reply.reason).toBe('already_logged_in');
    if (Date.now() - since > deadlineMs) throw new Error(`${name} could not log in again within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function setUp(): Promise<{ cluster: TestCluster; watchers: WireClient[]; victims: string[]; victimClients: WireClient[] }> {
  const c = await startCluster(3);
  await c.addUsers('v1', 'v2', 'w1', 'w2');
  const [a, b, victim] = c.instances as [never, never, never];
  const watchers = [await c.login(a, 'w1'), await c.login(b, 'w2')];
  const victimClients = [await c.login(victim, 'v1'), await c.login(victim, 'v2')];
  for (const watcher of watchers) await watcher.waitForJson((m) => m.type === 'join' && m.user === 'v2', 5000);
  return { cluster: c, watchers, victims: ['v1', 'v2'], victimClients };
}

const leavesOf = (watcher: WireClient, user: string) => watcher.messages.filter((m) => m.type === 'leave' && m.user === user);

describe.skipIf(!withServices)('an instance that dies or stalls', { timeout: 90_000 }, () => {
  it('kill -9: within 5 s its users log in elsewhere and the others hear each leave once (disconnected); its audit rows stay', async () => {
    const set = await setUp();
    cluster = set.cluster;
    const [a, b, victim] = cluster.instances as [never, never, never];
    const before = await cluster.query<{ id: number }>('select id from audit_log order by id');
    victim.kill('SIGKILL');
    const killed = Date.now();
    await waitForExit(victim.child, 5000);
    const took = await Promise.all([loginAgain(cluster, a, 'v1', killed, 5000), loginAgain(cluster, b, 'v2', killed, 5000)]);
    expect(Math.max(...took)).toBeLessThan(5000);
    for (const watcher of set.watchers) {
      for (const user of set.victims) {
        await watcher.waitForJson((m) => m.type === 'leave' && m.user === user, Math.max(100, 5000 - (Date.now() - killed)));
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const watcher of set.watchers) {
      for (const user of set.victims) {
        expect(leavesOf(watcher, user)).toEqual([{ type: 'leave', user, reason: 'disconnected' }]);
        // ... then their join from where they came back.
        const lastJoin = watcher.messages.findLastIndex((m) => m.type === 'join' && m.user === user);
        expect(lastJoin).toBeGreaterThan(watcher.messages.findIndex((m) => m.type === 'leave' && m.user === user));
      }
    }
    const after = await cluster.query<{ id: number }>('select id from audit_log order by id');
    expect(after.slice(0, before.length)).toEqual(before);
    const ends = await cluster.query<{ username: string; reason: string }>(`select username, reason from audit_log where event = 'session_end' order by username`);
    expect(ends).toEqual([
      { username: 'v1', reason: 'server_crashed' },
      { username: 'v2', reason: 'server_crashed' },
    ]);
    expect((await cluster.query('select id from instances')).length).toBe(2);
  });

  it('SIGSTOP (cut off, process still there): cleared within 5 s by the heartbeat watch; woken, it ends its stale sessions, registers again and serves', async () => {
    const set = await setUp();
    cluster = set.cluster;
    const [a, b, victim] = cluster.instances as [never, never, never];
    victim.child.kill('SIGSTOP');
    const stopped = Date.now();
    const took = await Promise.all([loginAgain(cluster, a, 'v1', stopped, 5000), loginAgain(cluster, b, 'v2', stopped, 5000)]);
    expect(Math.max(...took)).toBeLessThan(5000);
    for (const watcher of set.watchers) {
      for (const user of set.victims) {
        await watcher.waitForJson((m) => m.type === 'leave' && m.user === user, Math.max(100, 5000 - (Date.now() - stopped)));
        expect(leavesOf(watcher, user)).toEqual([{ type: 'leave', user, reason: 'disconnected' }]);
      }
    }
    expect((await cluster.query('select id from instances')).length).toBe(2);

    victim.child.kill('SIGCONT');
    await victim.stdout.waitFor(/instance_cleared instance=\S+ sessions=2/, 10_000);
    // Its clients, still connected to it, are told (no zombie sessions).
    for (const client of set.victimClients) {
      expect(await client.waitForType('bye', 5000)).toEqual({ type: 'bye', reason: 'shutdown', message: 'this server lost touch with the others, which ended its sessions; log in again' });
    }
    // It is back in the table and takes logins again.
    await eventually(async () => ((await cluster!.query('select id from instances')).length === 3 ? true : undefined), 5000, 'the woken instance registered again');
    const back = await cluster.login(victim, 'w1').catch(() => undefined);
    expect(back).toBeUndefined(); // w1 is logged in on a: one session per user still holds
    await cluster.addUsers('late');
    const late = await cluster.login(victim, 'late');
    for (const watcher of set.watchers) await watcher.waitForJson((m) => m.type === 'join' && m.user === 'late', 5000);
    late.sendJson({ type: 'say', text: 'back from the freeze' });
    for (const watcher of set.watchers) await watcher.waitForJson((m) => m.type === 'message' && m.text === 'back from the freeze', 5000);
    // The users who logged in elsewhere were not told they left a second time, and each end is audited once.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const watcher of set.watchers) {
      for (const user of set.victims) expect(leavesOf(watcher, user)).toHaveLength(1);
    }
    const ends = await cluster.query<{ username: string; reason: string }>(`select username, reason from audit_log where event = 'session_end' order by username`);
    expect(ends).toEqual([
      { username: 'v1', reason: 'server_crashed' },
      { username: 'v2', reason: 'server_crashed' },
    ]);
    const sessions = await cluster.query<{ username: string }>(`select username from sessions order by username`);
    expect(sessions.map((s) => s.username)).toEqual(['late', 'v1', 'v2', 'w1', 'w2']);
  });
});
