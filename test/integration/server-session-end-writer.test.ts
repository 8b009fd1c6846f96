import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/log.js';
import { SessionEndWriter, type SessionEnd } from '../../src/server/session-end-writer.js';
import { queryAudit } from '../../src/store/audit.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

// The session-end writer against a real SQLite file: an end the store refuses
// for good (here a trigger plays a damaged row) is dropped and logged alone,
// and the other ends of its batch are still audited.
let dir: TempDir | undefined;
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  await dir?.remove();
  store = dir = undefined;
});

const end = (sessionId: string): SessionEnd => ({
  sessionId,
  audit: { ts: '2026-12-01T00:00:00.000Z', event: 'session_end', username: sessionId, reason: 'quit', session_id: sessionId, duration_ms: 1000 },
});

describe('the session-end writer', () => {
  it('drops only the end the store refuses for good, and audits the rest of its batch', async () => {
    dir = await makeTempDir('chat-end-writer-');
    store = await openStore({ file: dir.file('chat.db'), create: true });
    await sql`create trigger refuse_damaged before insert on audit_log when new.session_id = 'damaged' begin select raise(abort, 'damaged row'); end`.execute(store.db);
    const lines: string[] = [];
    const writer = new SessionEndWriter(store.db, createLogger((line) => lines.push(line)), { spoolFile: dir.file('chat.db.unwritten-ends'), batch: 10 });
    const written: string[] = [];
    for (const id of ['first', 'damaged', 'third', 'fourth']) writer.write(end(id), () => written.push(id));
    await writer.settle(Date.now() + 5000);
    const audited = (await queryAudit(store.db, { event: 'session_end', limit: 10 })).map((row) => row.session_id).sort();
    expect(audited).toEqual(['first', 'fourth', 'third']);
    expect(written.sort()).toEqual(['first', 'fourth', 'third']);
    const errors = lines.filter((line) => line.includes('store_error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('damaged');
    // The queue is empty, so nothing is left for the spool; a refused end last in the queue still ends the wait.
    writer.write(end('damaged'));
    const started = Date.now();
    await writer.settle(Date.now() + 5000);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(writer.pending).toBe(0);
  });
});
