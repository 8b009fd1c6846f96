import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('broadcast', () => {
  it('delivers every message to each of 200 clients, in each sender\'s order, never to the sender', async () => {
    const users = names('u', 200);
    const f = await startServer(users, ['--rate-limit', '0', '--max-per-address', '0', '--max-prelogin-per-address', '0', '--login-queue', '0']);
    const clients: WireClient[] = [];
    for (let i = 0; i < users.length; i += 25) {
      clients.push(...(await Promise.all(users.slice(i, i + 25).map((name) => f.json(name)))));
    }
    const senders = clients.slice(0, 5);
    const perSender = 10;
    for (let k = 0; k < perSender; k += 1) {
      for (const [s, sender] of senders.entries()) sender.sendJson({ type: 'say', text: `s${s}-m${k}` });
    }
    const expected = senders.length * perSender;
    await Promise.all(
      clients.map((client, index) => {
        const own = index < senders.length ? perSender : 0;
        return client.waitForJson((m) => m.type === 'message', 30_000, expected - own - 1);
      }),
    );
    for (const [index, client] of clients.entries()) {
      const texts = client.messages.filter((m) => m.type === 'message').map((m) => String(m.text));
      expect(texts).toHaveLength(expected - (index < senders.length ? perSender : 0));
      for (let s = 0; s < senders.length; s += 1) {
        const fromS = texts.filter((t) => t.startsWith(`s${s}-`));
        expect(fromS).toEqual(index === s ? [] : Array.from({ length: perSender }, (_, k) => `s${s}-m${k}`));
      }
    }
    // 200 logins and 10,000 deliveries: on a loaded 2-core machine this takes longer than the default test timeout.
  }, 60_000);
});
