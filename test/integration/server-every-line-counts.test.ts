import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server-fixture.js';

describe('every line counts toward one flood budget', () => {
  it('three flooders of pong, unknown types and c.who are cut off for flooding; the others keep chatting', async () => {
    const f = await startServer(['alice', 'bob', 'f1', 'f2', 'f3']);
    const alice = await f.json('alice');
    const bob = await f.json('bob');
    const pongs = await f.json('f1');
    const unknown = await f.json('f2');
    const who = await f.text('f3');
    pongs.write(`${JSON.stringify({ type: 'pong' })}\n`.repeat(3000));
    unknown.write(`${JSON.stringify({ type: 'no_such_type' })}\n`.repeat(3000));
    who.write('c.who\n'.repeat(3000));
    expect(await pongs.waitForType('bye', 10_000)).toEqual({ type: 'bye', reason: 'flooding' });
    expect(await unknown.waitForType('bye', 10_000)).toEqual({ type: 'bye', reason: 'flooding' });
    await who.waitForText('! Disconnected for flooding. Goodbye.\n', 10_000);
    await Promise.all([pongs.waitForClose(), unknown.waitForClose(), who.waitForClose()]);
    // Cut off early: about the burst answered (10, plus what refilled meanwhile), not 3000.
    expect(unknown.messages.filter((m) => m.type === 'error' && m.code === 'unknown_type').length).toBeLessThanOrEqual(20);
    expect((who.text.match(/Online now/g) ?? []).length).toBeLessThanOrEqual(20);
    for (let i = 0; i < 5; i += 1) {
      alice.sendJson({ type: 'say', text: `still here ${i}`, id: `a${i}` });
      await alice.waitForJson((m) => m.type === 'ack' && m.id === `a${i}`);
      await bob.waitForJson((m) => m.type === 'message' && m.text === `still here ${i}`);
    }
    const leaves = bob.messages.filter((m) => m.type === 'leave').map((m) => m.user);
    expect(leaves.sort()).toEqual(['f1', 'f2', 'f3']);
  });
});
