import { describe, expect, it } from 'vitest';
import { History } from '../../src/server/history.js';
import { HistoryWriter } from '../../src/server/history-writer.js';
import { createLogger } from '../../src/server/log.js';
import { countMessages, insertMessages, recentMessages } from '../../src/store/history.js';
import { openStore } from '../../src/store/open-store.js';
import { holdWriteLock } from '../helpers/db-lock.js';
import { eventually } from '../helpers/db-peek.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// The history writer on a real SQLite file (statements on the store's worker
// thread, as in the server), with another process holding the write lock.

const message = (n: number) => ({ type: 'message' as const, id: `0mi00000${String(n).padStart(4, '0')}-tag`, from: 'shon', text: `m${n}`, ts: new Date(1_800_000_000_000 + n).toISOString() });

describe('history writer and replay on a locked store', () => {
  it('replays messages still in the buffer while the store is locked, writes them once it is free, and never blocks record()', async () => {
    const dir = await makeTempDir('chat-history-');
    const lines: string[] = [];
    const logger = createLogger((line) => lines.push(line));
    const store = await openStore({ file: dir.file('chat.db'), create: true, busyTimeoutMs: 300 });
    const history = new History(store.db, logger, { limit: 50, retentionMs: 86_400_000, writer: { intervalMs: 50, maxBatch: 500, maxBuffered: 1000 } }, Date.now);
    try {
      const lock = await holdWriteLock(dir.file('chat.db'), 20_000);
      const started = performance.now();
      for (let n = 1; n <= 20; n++) history.record(message(n));
      expect(performance.now() - started).toBeLessThan(50);
      await eventually(() => lines.some((l) => l.includes('history_write_failed')), 5000, 'a failed batch logged');
      const replay = await history.prepare();
      expect(replay!().map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
      expect(await countMessages(store.db)).toBe(0);
      await lock.release();
      await eventually(() => history.stats().written === 20, 10_000, 'the buffer written after the lock');
      expect(history.stats()).toMatchObject({ written: 20, dropped: 0, buffered: 0 });
      expect((await recentMessages(store.db, 50)).map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
    } finally {
      await history.stop(Date.now() + 1000);
      await store.close();
      await dir.remove();
    }
  }, 40_000);

  it('drops the oldest unwritten messages past its bound, counts them and says so in one log line', async () => {
    const dir = await makeTempDir('chat-history-');
    const lines: string[] = [];
    const store = await openStore({ file: dir.file('chat.db'), create: true, busyTimeoutMs: 200 });
    const writer = new HistoryWriter(store.db, createLogger((line) => lines.push(line)), { intervalMs: 20, maxBatch: 5, maxBuffered: 10 });
    try {
      const lock = await holdWriteLock(dir.file('chat.db'), 20_000);
      for (let n = 1; n <= 25; n++) writer.record({ id: message(n).id, from: 'shon', text: `m${n}`, ts: message(n).ts });
      expect(writer.stats().dropped).toBeGreaterThanOrEqual(10);
      expect(lines.filter((l) => l.includes('history_dropped'))).toHaveLength(1);
      expect(lines.find((l) => l.includes('history_dropped'))).toMatch(/error history_dropped count=\d+ total=\d+ max_buffered=10/);
      await lock.release();
      const left = await writer.stop(Date.now() + 10_000);
      expect(left).toBe(0);
      const kept = (await recentMessages(store.db, 100)).map((m) => m.text);
      // The newest are what a login replays: they are the ones kept.
      expect(kept.at(-1)).toBe('m25');
      expect(kept.length + writer.stats().dropped).toBe(25);
    } finally {
      await store.close();
      await dir.remove();
    }
  }, 40_000);

  it('a batch that meets a message already stored (a commit whose answer was lost) is written again without it: nothing doubled, nothing lost', async () => {
    const dir = await makeTempDir('chat-history-');
    const lines: string[] = [];
    const store = await openStore({ file: dir.file('chat.db'), create: true });
    const writer = new HistoryWriter(store.db, createLogger((line) => lines.push(line)), { intervalMs: 20, maxBatch: 50, maxBuffered: 100 });
    const stored = (n: number) => ({ id: message(n).id, from: 'shon', text: `m${n}`, ts: message(n).ts });
    try {
      // Messages 1-3 are in the store already, as a batch committed just before its connection went would leave them.
      await insertMessages(store.db, [1, 2, 3].map(stored));
      for (let n = 1; n <= 6; n++) writer.record(stored(n));
      await eventually(() => writer.stats().written === 6, 10_000, 'the batch written on its retry');
      expect(lines.filter((l) => l.includes('history_write_failed'))).toHaveLength(1);
      expect((await recentMessages(store.db, 100)).map((m) => m.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
      // Back to plain batches once a write succeeded.
      writer.record(stored(7));
      await eventually(() => writer.stats().written === 7, 10_000, 'the next batch');
      expect(await countMessages(store.db)).toBe(7);
    } finally {
      await writer.stop(Date.now() + 1000);
      await store.close();
      await dir.remove();
    }
  }, 40_000);
});
