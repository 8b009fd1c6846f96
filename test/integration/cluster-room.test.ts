/**
 * Three chat-server instances (child processes) on one PostgreSQL database
 * and one Redis bus are one room: every message reaches every other user on
 * every instance exactly once, never its sender, in each sender's order, with
 * one id; joins, leaves and `who` span the cluster; one session per user
 * across instances, also when logins race.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { redisAvailable } from '../helpers/services.js';
import type { JsonMessage, WireClient } from '../helpers/wire-client.js';

const withServices = (await postgresAvailable()) && (await redisAvailable());

describe.skipIf(!withServices)('three instances, one room', { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  /** The six users of the first test, still logged in for the others. */
  const clients = new Map<string, WireClient>();
  beforeAll(async () => {
    cluster = await startCluster(3, { args: ['--rate-limit', '0'] });
    await cluster.addUsers('a1', 'a2', 'b1', 'b2', 'c1', 'c2', 'joiner', 'racer', 'texter');
  }, 90_000);
  afterAll(() => cluster?.stop());

  const messagesOf = (client: WireClient): JsonMessage[] => client.messages.filter((m) => m.type === 'message');

  it('every message reaches every other user on every instance exactly once, never its sender, in order, with one id', async () => {
    const [a, b, c] = cluster.instances as [never, never, never];
    const names = ['a1', 'a2', 'b1', 'b2', 'c1', 'c2'];
    for (const [i, name] of names.entries()) clients.set(name, await cluster.login([a, a, b, b, c, c][i]!, name));
    // Everyone sees everyone before anyone speaks (the last one's join has reached all).
    for (const [name, client] of clients) {
      if (name !== 'c2') await client.waitForJson((m) => m.type === 'join' && m.user === 'c2', 10_000);
    }
    const perSender = 40;
    for (let n = 1; n <= perSender; n += 1) {
      for (const [name, client] of clients) client.sendJson({ type: 'say', text: `${name} #${n}` });
    }
    const expected = (names.length - 1) * perSender;
    for (const [name, client] of clients) {
      await client.waitForJson((m) => m.type === 'message', 20_000, expected - 1).catch((error: Error) => {
        throw new Error(`${name} got ${messagesOf(client).length} of ${expected}: ${error.message}`);
      });
    }
    // Let any copy that would arrive late arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ids = new Map<string, string>();
    for (const [name, client] of clients) {
      const got = messagesOf(client);
      expect(got, `${name} got exactly the others' messages`).toHaveLength(expected);
      expect(got.filter((m) => m.from === name), `${name} never hears itself`).toEqual([]);
      for (const sender of names.filter((other) => other !== name)) {
        const texts = got.filter((m) => m.from === sender).map((m) => m.text);
        expect(texts, `${name} hears ${sender} in order, once each`).toEqual(Array.from({ length: perSender }, (_, i) => `${sender} #${i + 1}`));
      }
      for (const message of got) {
        expect(message.id).toMatch(/^[0-9a-z]{12}-[0-9a-z]{16}$/);
        const key = String(message.text);
        const known = ids.get(key);
        if (known === undefined) ids.set(key, String(message.id));
        else expect(message.id, `one id for ${key} everywhere`).toBe(known);
      }
    }
    expect(new Set(ids.values()).size).toBe(names.length * perSender);
    // `who` and login_ok list the whole cluster, wherever they are asked.
    for (const client of clients.values()) client.sendJson({ type: 'who' });
    for (const client of clients.values()) {
      const who = await client.waitForType('who');
      expect([...(who.users as string[])].sort()).toEqual([...names].sort());
    }
    const late = await cluster.login(b, 'joiner');
    const ok = late.messages.find((m) => m.type === 'login_ok')!;
    expect([...(ok.users as string[])].sort()).toEqual([...names].sort());
    late.sendJson({ type: 'quit' });
    await late.waitForClose();
  });

  it('a join and a leave on one instance reach the members of the others; text mode c.who lists everyone', async () => {
    const [a, , c] = cluster.instances as [never, never, never];
    const watchers = [clients.get('a1')!, clients.get('b2')!];
    const texter = await cluster.connect(a);
    texter.write('texter\npw-texter\n');
    await texter.waitForText(/\* Commands: .*c\.exit.*\n/);
    const joiner = await cluster.login(c, 'joiner');
    for (const watcher of watchers) await watcher.waitForJson((m) => m.type === 'join' && m.user === 'joiner', 5000);
    await texter.waitForText('* joiner has joined the chat.\n', 5000);
    texter.write('c.who\n');
    const who = await texter.waitForText(/\* Online now \((\d+)\): ([^\n]*)\.\n/, 5000);
    expect(who[2]!.split(', ').sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 'joiner', 'texter']);
    joiner.sendJson({ type: 'quit' });
    await joiner.waitForClose();
    for (const watcher of watchers) {
      expect(await watcher.waitForJson((m) => m.type === 'leave' && m.user === 'joiner', 5000)).toEqual({ type: 'leave', user: 'joiner', reason: 'quit' });
    }
    await texter.waitForText(/\* joiner left the chat[^\n]*\n/, 5000);
    texter.write('c.exit\n');
    await texter.waitForClose();
  });

  it('logins for one user racing on three instances: exactly one wins, every round', async () => {
    for (let round = 0; round < 5; round += 1) {
      const connections = await Promise.all(cluster.instances.map((instance) => cluster.connect(instance)));
      for (const connection of connections) connection.sendJson({ type: 'hello', proto: 1 });
      for (const connection of connections) connection.sendJson({ type: 'login', username: 'racer', password: 'pw-racer' });
      const replies = await Promise.all(connections.map((connection) => connection.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed', 10_000)));
      expect(replies.filter((r) => r.type === 'login_ok'), `round ${round}`).toHaveLength(1);
      expect(replies.filter((r) => r.type === 'login_failed').map((r) => r.reason)).toEqual(['already_logged_in', 'already_logged_in']);
      const winner = connections[replies.findIndex((r) => r.type === 'login_ok')]!;
      winner.sendJson({ type: 'quit' });
      await winner.waitForClose();
      for (const connection of connections) connection.close();
      // The end is written asynchronously: wait until the seat is free for the next round.
      const deadline = Date.now() + 5000;
      while ((await cluster.query(`select 1 from sessions where username_key = 'racer'`)).length > 0) {
        if (Date.now() > deadline) throw new Error('racer session not released');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });

  it('an instance that shuts down (SIGTERM) says goodbye to its own clients; the others hear its users leave, disconnected', async () => {
    const c = cluster.instances[2]!;
    expect(await c.stop()).toBe(0);
    for (const name of ['c1', 'c2']) expect(await clients.get(name)!.waitForType('bye', 5000)).toEqual({ type: 'bye', reason: 'shutdown' });
    for (const name of ['a1', 'b1']) {
      for (const gone of ['c1', 'c2']) {
        expect(await clients.get(name)!.waitForJson((m) => m.type === 'leave' && m.user === gone, 5000)).toEqual({ type: 'leave', user: gone, reason: 'disconnected' });
      }
    }
    clients.get('a1')!.sendJson({ type: 'who' });
    const who = await clients.get('a1')!.waitForJson((m) => m.type === 'who', 5000, 1);
    expect([...(who.users as string[])].sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(await cluster.query('select id from instances')).toHaveLength(2);
  });
});
