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

  it('on SIGINT does the same', async () => {
    const f = await startServer(['shon']);
    const shon = await f.json('shon');
    f.server.kill('SIGINT');
    expect(await shon.waitForType('bye')).toEqual({ type: 'bye', reason: 'shutdown' });
    expect(await f.server.stop(6000)).toBe(0);
  });
});
