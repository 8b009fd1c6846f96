/**
 * Recent history and direct messages across two instances (child processes)
 * on one PostgreSQL database and one Redis bus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startCluster, type TestCluster } from '../helpers/cluster.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { redisAvailable } from '../helpers/services.js';

const withServices = (await postgresAvailable()) && (await redisAvailable());

describe.skipIf(!withServices)('two instances: shared history, direct messages across', { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(2, { args: ['--rate-limit', '0'] });
    await cluster.addUsers('ann', 'bob', 'cat', 'dan', 'idle', 'away');
  }, 90_000);
  afterAll(() => cluster?.stop());

  it('a login on one instance replays what was said on the other, with the ids the room saw live', async () => {
    const [a, b] = cluster.instances as [never, never];
    const ann = await cluster.login(a, 'ann');
    const bob = await cluster.login(b, 'bob');
    await ann.waitForJson((m) => m.type === 'join' && m.user === 'bob', 10_000);
    for (let i = 1; i <= 3; i++) ann.sendJson({ type: 'say', text: `from a #${i}`, id: `a${i}` });
    bob.sendJson({ type: 'say', text: 'from b', id: 'b1' });
    const live = await Promise.all([1, 2, 3].map((i) => bob.waitForJson((m) => m.type === 'message' && m.text === `from a #${i}`, 10_000)));
    await eventually(async () => ((await cluster.query<{ n: string }>('select count(*) as n from messages'))[0]!.n === '4' ? true : undefined), 5000, 'four messages stored once each');
    const cat = await cluster.login(b, 'cat');
    await cat.waitForType('history_end');
    const replay = cat.messages.filter((m) => m.type === 'message');
    expect(replay.filter((m) => String(m.text).startsWith('from a')).map((m) => m.id)).toEqual(live.map((m) => m.id));
    expect(replay.every((m) => m.history === true)).toBe(true);
    expect(replay.map((m) => m.text).sort()).toEqual(['from a #1', 'from a #2', 'from a #3', 'from b']);
    expect(cat.messages.find((m) => m.type === 'history_end')).toEqual({ type: 'history_end', count: 4 });
  });

  it('a direct message reaches a user on the other instance (any case), the ack comes in order with the sender\'s other replies, and it is stored nowhere', async () => {
    const [a, b] = cluster.instances as [never, never];
    const dan = await cluster.login(a, 'dan');
    const idle = await cluster.login(b, 'idle');
    await dan.waitForJson((m) => m.type === 'join' && m.user === 'idle', 10_000);
    dan.sendJson({ type: 'dm', to: 'IDLE', text: 'across \x1b[31mclean', id: 'd1' });
    dan.sendJson({ type: 'say', text: 'right after', id: 's1' });
    const dm = await idle.waitForType('dm', 10_000);
    expect(dm).toMatchObject({ type: 'dm', from: 'dan', text: 'across clean' });
    const replies = await Promise.all([0, 1].map((nth) => dan.waitForJson((m) => m.type === 'ack' || m.type === 'error', 10_000, nth)));
    expect(replies).toEqual([{ type: 'ack', id: 'd1' }, { type: 'ack', id: 's1' }]);
    // not_online for a name nobody has and for a user logged in nowhere, alike.
    dan.sendJson({ type: 'dm', to: 'ghost', text: 'x', id: 'g' });
    dan.sendJson({ type: 'dm', to: 'away', text: 'x', id: 'h' });
    const misses = await Promise.all([2, 3].map((nth) => dan.waitForJson((m) => m.type === 'ack' || m.type === 'error', 10_000, nth)));
    expect(misses).toEqual([
      { type: 'error', code: 'not_online', message: 'ghost is not online.' },
      { type: 'error', code: 'not_online', message: 'away is not online.' },
    ]);
    const stored = await cluster.query<{ text: string }>('select text from messages');
    expect(stored.some((row) => row.text.includes('across'))).toBe(false);
    expect(dm.id).toMatch(/^[0-9a-z]{12}-[0-9a-z]{16}$/);
  });
});
