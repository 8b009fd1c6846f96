import { describe, expect, it } from 'vitest';
import { auditRows, queryDb } from '../helpers/db-peek.js';
import { join } from 'node:path';
import { keptDir, startServer } from '../helpers/server-fixture.js';

describe('graceful shutdown', () => {
  it('on SIGTERM says goodbye to everyone, records each session end, and exits 0 within 5 s', async () => {
    const f = await startServer(['shon', 'ron'], [], {}, { dbFile: join(keptDir(), 'chat.db') });
    const shon = await f.json('shon');
    const ron = await f.text('ron');
    const waiting = await f.connect();
    const started = Date.now();
    const exitCode = await f.server.stop(6000);
    expect(exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await shon.waitForType('bye')).toEqual({ type: 'bye', reason: 'shutdown' });
    await ron.waitForText('* The server is shutting down. Goodbye.\n');
    await waiting.waitForClose();
    expect(queryDb(f.dbFile, 'select * from sessions')).toEqual([]);
    expect(queryDb(f.dbFile, 'select * from instances')).toEqual([]);
    const ends = auditRows(f.dbFile, 'session_end');
    expect(ends.map((r) => [r.username, r.reason]).sort()).toEqual([
      ['ron', 'shutdown'],
      ['shon', 'shutdown'],
    ]);
  });

  it('is one goodbye per client: nobody hears the others leave (nothing n²)', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `u${i}`);
    const f = await startServer(names, ['--max-per-address', '0', '--max-prelogin-per-address', '0']);
    const clients = [];
    for (let i = 0; i < names.length; i += 10) clients.push(...(await Promise.all(names.slice(i, i + 10).map((n) => f.text(n)))));
    const lengths = clients.map((c) => c.text.length);
    expect(await f.server.stop(6000)).toBe(0);
    await Promise.all(clients.map((c) => c.waitForClose()));
    clients.forEach((c, i) => {
      // What each client read after its welcome block and the joins of those who came later: only its goodbye.
      const after = c.text.slice(lengths[i]);
      expect(after.replace(/\* u\d+ has joined the chat\.\n/g, '')).toBe('* The server is shutting down. Goodbye.\n');
    });
  });

  it('on SIGINT does the same', async () => {
    const f = await startServer(['shon']);
    const shon = await f.json('shon');
    f.server.kill('SIGINT');
    expect(await shon.waitForType('bye')).toEqual({ type: 'bye', reason: 'shutdown' });
    expect(await f.server.stop(6000)).toBe(0);
  });
});
