import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAdmin, startChatServer } from '../helpers/chat-server-process.js';
import { auditRows, eventually, queryDb } from '../helpers/db-peek.js';
import { importUsers, keptDir, onCleanup, startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';
import { deleteKeys } from '../helpers/cluster.js';
import { redisAvailable, TEST_REDIS_URL } from '../helpers/services.js';

const withRedis = await redisAvailable();

describe('chat-admin actions reach live sessions (separate processes, one database)', () => {
  it('kick ends the session within 2 s with the admin\'s reason; others see leave kicked', async () => {
    const f = await startServer(['shon', 'ron', 'itay']);
    const shon = await f.json('shon');
    const ron = await f.text('ron');
    const itay = await f.json('itay');
    const asked = Date.now();
    await f.admin(['kick', 'shon', '--reason', 'spamming']);
    expect(await shon.waitForType('bye', 2500)).toEqual({ type: 'bye', reason: 'kicked', message: 'spamming' });
    expect(Date.now() - asked).toBeLessThan(2500);
    await shon.waitForClose();
    expect(await itay.waitForJson((m) => m.type === 'leave' && m.user === 'shon')).toMatchObject({ reason: 'kicked' });
    await ron.waitForText('* shon left the chat (kicked).\n');
    const end = await eventually(() => auditRows(f.dbFile, 'session_end').find((r) => r.username === 'shon'), 5000, 'session_end');
    expect(end).toMatchObject({ reason: 'kicked', detail: 'spamming' });
    expect(auditRows(f.dbFile, 'kick')).toHaveLength(1);
    // A kick is not a ban.
    await f.json('shon');
  });

  it('kick tells a text user in words', async () => {
    const f = await startServer(['shon']);
    const shon = await f.text('shon');
    await f.admin(['kick', 'shon']);
    await shon.waitForClose(2500);
    expect(shon.text.endsWith('! You were kicked by an administrator. Goodbye.\n')).toBe(true);
  });

  it('user remove ends the session with removed, and the user cannot come back', async () => {
    const f = await startServer(['shon', 'ron']);
    const shon = await f.json('shon');
    const ron = await f.json('ron');
    await f.admin(['user', 'remove', 'shon']);
    expect(await shon.waitForType('bye', 2500)).toEqual({ type: 'bye', reason: 'removed' });
    expect(await ron.waitForJson((m) => m.type === 'leave')).toEqual({ type: 'leave', user: 'shon', reason: 'removed' });
    const again = await WireClient.connect(f.port);
    again.sendJson({ type: 'hello', proto: 1 });
    again.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
    expect(await again.waitForType('login_failed')).toMatchObject({ reason: 'invalid_credentials' });
    again.close();
  });

  it('user disable ends the session with disabled; enable lets the user back', async () => {
    const f = await startServer(['shon', 'ron']);
    const shon = await f.text('shon');
    const ron = await f.json('ron');
    await f.admin(['user', 'disable', 'shon']);
    await shon.waitForClose(2500);
    expect(shon.text.endsWith('! Your account was disabled. Goodbye.\n')).toBe(true);
    expect(await ron.waitForJson((m) => m.type === 'leave')).toEqual({ type: 'leave', user: 'shon', reason: 'disabled' });
    await f.admin(['user', 'enable', 'shon']);
    await f.text('shon');
  });

  it('a second server on the same database without a bus refuses to start, so the room is never split', async () => {
    const dbFile = join(keptDir(), 'chat.db');
    const a = await startChatServer({ dbFile });
    onCleanup(() => a.stop());
    await expect(startChatServer({ dbFile })).rejects.toThrow(/exited with 1 before listening:\nchat-server: another chat-server is running on this database without a shared bus/);
    expect(queryDb(dbFile, 'select count(*) as n from instances')).toEqual([{ n: 1 }]);
  });

  it.skipIf(!withRedis)('a kick reaches the user on whichever of two servers sharing the database (and a bus) holds the session', async () => {
    const dbFile = join(keptDir(), 'chat.db');
    const prefix = `chat-test-${randomUUID()}:`;
    onCleanup(() => deleteKeys(prefix));
    const bus = ['--bus', TEST_REDIS_URL, '--bus-prefix', prefix];
    const a = await startChatServer({ dbFile, args: bus });
    onCleanup(() => a.stop());
    await importUsers(dbFile, ['shon', 'ron']);
    const b = await startChatServer({ dbFile, args: bus });
    onCleanup(() => b.stop());
    const shon = await WireClient.loginJson(b.port, 'shon', 'pw-shon');
    onCleanup(() => shon.close());
    // One live session per user across the deployment.
    const dup = await WireClient.connect(a.port);
    onCleanup(() => dup.close());
    dup.sendJson({ type: 'hello', proto: 1 });
    dup.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
    expect(await dup.waitForType('login_failed')).toMatchObject({ reason: 'already_logged_in' });
    const kicked = await runAdmin(['kick', 'shon', '--db', dbFile, ...bus]);
    expect(kicked.code).toBe(0);
    expect(await shon.waitForType('bye', 2500)).toMatchObject({ reason: 'kicked' });
    expect(queryDb(dbFile, 'select count(*) as n from instances')).toEqual([{ n: 2 }]);
  });
});

describe('crash recovery', () => {
  it('after kill -9 and a restart, the dead server\'s sessions are cleared at once and its audit rows kept', async () => {
    const dbFile = join(keptDir(), 'chat.db');
    const first = await startChatServer({ dbFile });
    onCleanup(() => first.stop());
    await importUsers(dbFile, ['shon', 'ron']);
    const shon = await WireClient.loginJson(first.port, 'shon', 'pw-shon');
    onCleanup(() => shon.close());
    const failed = await WireClient.connect(first.port);
    onCleanup(() => failed.close());
    failed.sendJson({ type: 'hello', proto: 1 });
    failed.sendJson({ type: 'login', username: 'ron', password: 'wrong' });
    await failed.waitForType('login_failed');
    const before = auditRows(dbFile);
    expect(queryDb(dbFile, 'select username from sessions')).toEqual([{ username: 'shon' }]);

    first.kill('SIGKILL');
    await shon.waitForClose();
    const second = await startChatServer({ dbFile });
    onCleanup(() => second.stop());
    // Cleared before the new server listens: shon logs straight back in.
    const back = await WireClient.loginJson(second.port, 'shon', 'pw-shon');
    onCleanup(() => back.close());
    const after = auditRows(dbFile);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(before.map((r) => [r.event, r.username, r.outcome])).toEqual([
      ['user_add', 'shon', null],
      ['user_add', 'ron', null],
      ['login', 'shon', 'ok'],
      ['login', 'ron', 'failed'],
    ]);
    expect(after.find((r) => r.event === 'session_end' && r.username === 'shon')).toMatchObject({ reason: 'server_crashed' });
    expect(second.stdout.text).toMatch(/cleared_stale_sessions count=1 users=shon/);
  });
});
