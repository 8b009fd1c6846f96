import { userInfo } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectFailure, expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { dumpTables, insertLiveSession, sessionOf, withTestStore } from '../helpers/store-fixtures.js';

let f: AdminFixture;
beforeEach(async () => {
  f = await makeAdminFixture();
  await f.addUsers('shon', 'dana');
});
afterEach(async () => {
  await f?.dir.remove();
});

const actor = userInfo().username;

async function lastAudit(): Promise<Record<string, unknown>> {
  const result = await f.admin(['audit', '--json', '--limit', '1']);
  expectOk(result);
  return (JSON.parse(result.stdout) as Array<Record<string, unknown>>)[0]!;
}

describe('chat-admin sessions', () => {
  it('lists live sessions with their server, as a table and as JSON', async () => {
    const at = '2026-11-25T10:00:00.123Z';
    const { sessionId, instanceId } = await withTestStore(f.db, (db) =>
      insertLiveSession(db, { username: 'shon', instanceId: 'inst-1', hostname: 'chat1', pid: 777, peerAddress: '10.0.0.5:4100', at }),
    );
    const table = await f.admin(['sessions', '--wide']);
    expectOk(table);
    expect(table.stdout).toMatch(/^shon +10\.0\.0\.5:4100 +2026-11-25T10:00:00Z +2026-11-25T10:00:00Z +inst-1 \(chat1\/777\) +-$/m);

    const json = await f.admin(['sessions', '--json']);
    expectOk(json);
    expect(JSON.parse(json.stdout)).toEqual([
      {
        sessionId,
        username: 'shon',
        peerAddress: '10.0.0.5:4100',
        mode: 'text',
        connectedAt: at,
        lastActivityAt: at,
        instanceId,
        hostname: 'chat1',
        pid: 777,
        instanceListenAddress: '127.0.0.1:0',
        endRequest: null,
        endRequestNote: null,
        endRequestedBy: null,
      },
    ]);
  });

  it('fits 80 columns with a long name, an IPv6 peer and a server UUID; --wide shows them in full', async () => {
    const instanceId = '3f2b9c1e-8d4a-4f6b-9e2d-7a1c5b8e0f42';
    await f.addUsers('shon-the-admin');
    await withTestStore(f.db, async (db) => {
      await insertLiveSession(db, { username: 'shon-the-admin', instanceId, hostname: 'chat-node-1.example.org', pid: 123456, peerAddress: '[2001:db8::17]:51234' });
      await insertLiveSession(db, { username: 'shon', instanceId, peerAddress: '10.0.0.5:4100' });
    });
    const table = await f.admin(['sessions']);
    expectOk(table);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^user +peer +connected \(UTC\) +idle +server +end$/);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[2]).toMatch(/^shon-the-admin +\[2001:db8::17\]:51234 +\d{4}-\d\d-\d\d \d\d:\d\d +\d+s +3f2b9c1e +-$/);

    const wide = await f.admin(['sessions', '--wide']);
    expect(wide.stdout).toContain(`${instanceId} (chat-node-1.example.org/123456)`);
  });

  it('says so when nobody is connected', async () => {
    expect(await f.admin(['sessions'])).toMatchObject({ exitCode: 0, stdout: 'no live sessions\n' });
    expect((await f.admin(['sessions', '--json'])).stdout.trim()).toBe('[]');
  });
});

describe('end requests', () => {
  it('kick records the request with its reason on the session row and audits it', async () => {
    const { sessionId, instanceId } = await withTestStore(f.db, (db) => insertLiveSession(db, { username: 'shon' }));
    const result = await f.admin(['kick', 'Shon', '--reason', 'flooding the room']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'asked the server to end the session of Shon\n', stderr: '' });
    expect(await sessionOf(f.db, 'shon')).toMatchObject({ end_request: 'kicked', end_request_note: 'flooding the room', end_requested_by: actor });
    expect(await lastAudit()).toMatchObject({ event: 'kick', username: 'shon', actor, detail: 'flooding the room', sessionId, instanceId });
    expect(await sessionOf(f.db, 'dana')).toBeUndefined();
  });

  it('kick fails when the user has no live session, writing nothing', async () => {
    const before = dumpTables(f.db);
    expectFailure(await f.admin(['kick', 'dana']), 1, /user dana has no live session/);
    expect(dumpTables(f.db)).toEqual(before);
  });

  it('remove asks the live session to end with kind removed', async () => {
    const { sessionId } = await withTestStore(f.db, (db) => insertLiveSession(db, { username: 'shon' }));
    expect((await f.admin(['user', 'remove', 'shon'])).stdout).toBe('removed user shon; their live session was asked to end\n');
    expect(await sessionOf(f.db, 'shon')).toMatchObject({ id: sessionId, user_id: null, end_request: 'removed', end_requested_by: actor });
    expect(await lastAudit()).toMatchObject({ event: 'user_remove', username: 'shon', sessionId });
  });

  it('disable asks the live session to end with kind disabled; enable does not', async () => {
    await withTestStore(f.db, (db) => insertLiveSession(db, { username: 'shon' }));
    expect((await f.admin(['user', 'disable', 'shon'])).stdout).toBe('disabled user shon; their live session was asked to end\n');
    expect(await sessionOf(f.db, 'shon')).toMatchObject({ end_request: 'disabled', end_request_note: null });
    expect(await lastAudit()).toMatchObject({ event: 'user_disable', username: 'shon' });
    expect((await f.admin(['user', 'enable', 'shon'])).stdout).toBe('enabled user shon\n');
  });

  it('sessions shows a pending end request', async () => {
    await withTestStore(f.db, (db) => insertLiveSession(db, { username: 'dana' }));
    expectOk(await f.admin(['kick', 'dana']));
    expect((await f.admin(['sessions'])).stdout).toMatch(/^dana .* kicked$/m);
  });
});
