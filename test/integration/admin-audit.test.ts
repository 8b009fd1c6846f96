import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/store/audit.js';
import { expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { withTestStore } from '../helpers/store-fixtures.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await makeAdminFixture();
  await f.addUsers('shon', 'dana');
  const now = Date.now();
  await withTestStore(f.db, async (db) => {
    // A login a server wrote three hours ago, and one a minute ago.
    await appendAudit(db, { ts: new Date(now - 3 * 3_600_000).toISOString(), event: 'login', username: 'Shon', outcome: 'failed', reason: 'bad password', peer_address: '10.0.0.9:1' });
    await appendAudit(db, { ts: new Date(now - 60_000).toISOString(), event: 'login', username: 'shon', outcome: 'ok' });
  });
});
afterEach(async () => {
  await f?.dir.remove();
});

async function events(args: readonly string[]): Promise<string[]> {
  const result = await f.admin(['audit', '--json', ...args]);
  expectOk(result);
  return (JSON.parse(result.stdout) as Array<{ event: string; username: string }>).map((row) => `${row.event}:${row.username}`);
}

describe('chat-admin audit', () => {
  it('lists newest first, filtered by user (any case), event, since and limit', async () => {
    // One import: both user_add rows share a time, so the later id (dana) comes first.
    expect(await events([])).toEqual(['user_add:dana', 'user_add:shon', 'login:shon', 'login:Shon']);
    expect(await events(['--user', 'SHON'])).toEqual(['user_add:shon', 'login:shon', 'login:Shon']);
    expect(await events(['--event', 'login'])).toEqual(['login:shon', 'login:Shon']);
    expect(await events(['--since', '2h'])).toEqual(['user_add:dana', 'user_add:shon', 'login:shon']);
    expect(await events(['--since', '30s', '--user', 'shon'])).toEqual(['user_add:shon']);
    expect(await events(['--limit', '2'])).toEqual(['user_add:dana', 'user_add:shon']);
  });

  it('--json rows carry every column in camelCase', async () => {
    const result = await f.admin(['audit', '--json', '--event', 'login', '--limit', '1', '--since', '1d']);
    expect(Object.keys((JSON.parse(result.stdout) as object[])[0]!).sort()).toEqual(
      ['actor', 'detail', 'durationMs', 'event', 'id', 'instanceId', 'mode', 'outcome', 'peerAddress', 'reason', 'sessionId', 'ts', 'username'].sort(),
    );
  });

  it('prints a table with reason, detail and peer folded into one column', async () => {
    const result = await f.admin(['audit', '--event', 'login']);
    expectOk(result);
    const lines = result.stdout.trimEnd().split('\n');
    // One header, one rule under it, then one line per row: no separator between rows.
    expect(lines[0]).toMatch(/^time +event +user +outcome +actor +detail$/);
    expect(lines[1]).toMatch(/^-+( +-+){5}$/);
    expect(lines.slice(2).every((line) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /.test(line))).toBe(true);
    expect(result.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +login +Shon +failed +- +bad password; from 10\.0\.0\.9:1$/m);
    expect((await f.admin(['audit', '--event', 'kick'])).stdout).toBe('no audit rows\n');
  });
});
