import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAuditMany, queryAudit } from '../../src/store/audit.js';
import { countMessages, deleteMessagesBefore, insertMessages, purgeMessages, queryMessages, recentMessages } from '../../src/store/history.js';
import { migrations } from '../../migrations/index.js';
import { openStore, writeTransaction, type Store } from '../../src/store/open-store.js';
import type { NewSessionRow } from '../../src/store/schema.js';
import { claimSession, findSessionByUser, releaseSessions } from '../../src/store/sessions.js';
import { consumeResumeToken, findResumeTokenOfUser, hashResumeToken, issueResumeToken, newResumeToken, pruneExpiredResumeTokens, revokeResumeTokens } from '../../src/store/resume-tokens.js';
import { deleteTakeovers, pendingTakeovers, requestTakeover } from '../../src/store/session-takeovers.js';
import { findThrottles, saveThrottle } from '../../src/store/throttles.js';
import { countUsers, deleteUser, findUser, insertUser, listUsers, setDisabled } from '../../src/store/users.js';
import { createTestDatabase, postgresAvailable } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// The repositories run unchanged on every dialect; each case runs on SQLite
// (a temp file, statements on the worker thread) and on PostgreSQL (a fresh
// database of its own on CHAT_TEST_POSTGRES, dropped afterwards).
const withPostgres = await postgresAvailable();

interface Target {
  /** A fresh, empty store location (file path or URL). */
  location: string;
  remove(): Promise<void>;
}

const targets: Record<'sqlite' | 'postgres', () => Promise<Target>> = {
  sqlite: async () => {
    const dir = await makeTempDir('chat-dialects-');
    return { location: dir.file('chat.db'), remove: () => dir.remove() };
  },
  postgres: async () => {
    const db = await createTestDatabase();
    return { location: db.url, remove: () => db.drop() };
  },
};

const at = '2026-12-01T00:00:00.000Z';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fresh(kind: keyof typeof targets): Promise<{ target: Target; open(): Promise<Store> }> {
  const target = await targets[kind]();
  cleanups.push(() => target.remove());
  return {
    target,
    open: async () => {
      const store = await openStore({ file: target.location, create: true, poolSize: 8 });
      cleanups.push(() => store.close());
      return store;
    },
  };
}

function sessionRow(username: string, instanceId: string): NewSessionRow {
  return {
    id: randomUUID(),
    user_id: null,
    username,
    username_key: username.toLowerCase(),
    instance_id: instanceId,
    peer_address: '127.0.0.1:1',
    mode: 'json',
    connected_at: at,
    last_activity_at: at,
    end_request: null,
    end_request_note: null,
    end_requested_by: null,
  };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !withPostgres)(`the store on ${kind}`, () => {
    it('migrates a new store once when several openers race, then opens it without migrating', async () => {
      const f = await fresh(kind);
      const stores = await Promise.all(Array.from({ length: 4 }, () => f.open()));
      expect(await countUsers(stores[0]!.db)).toBe(0);
      const again = await f.open();
      const applied = await again.db.selectFrom('kysely_migration' as never).select('name' as never).execute();
      expect(applied).toHaveLength(Object.keys(migrations).length);
    });

    it('adds, finds, lists, counts, disables and removes users; a taken name (any case) is USER_EXISTS, in a transaction too', async () => {
      const { db } = await (await fresh(kind)).open();
      const shon = await insertUser(db, { username: 'Shon', passwordHash: 'h1', at });
      expect(shon).toMatchObject({ username: 'Shon', username_key: 'shon', disabled: 0, last_login_at: null });
      expect(typeof shon.id).toBe('number');
      await insertUser(db, { username: 'ada', passwordHash: 'h2', at });
      await expect(insertUser(db, { username: 'SHON', passwordHash: 'h3', at })).rejects.toMatchObject({ code: 'USER_EXISTS' });
      // The refusal leaves a transaction usable (a failed statement would abort it on PostgreSQL).
      const seen = await writeTransaction(db, async (trx) => {
        await insertUser(trx, { username: 'shon', passwordHash: 'h', at }).catch(() => undefined);
        return (await findUser(trx, 'shon'))?.username;
      });
      expect(seen).toBe('Shon');
      expect((await listUsers(db)).map((u) => u.username)).toEqual(['ada', 'Shon']);
      expect(await countUsers(db)).toBe(2);
      await setDisabled(db, shon.id, true, at);
      expect((await findUser(db, 'shon'))?.disabled).toBe(1);
      await deleteUser(db, shon.id);
      expect(await countUsers(db)).toBe(1);
    });

    it('gives exactly one of 20 simultaneous claims for one user the session, across pooled connections', async () => {
      const { db } = await (await fresh(kind)).open();
      const instance = randomUUID();
      await db.insertInto('instances').values({ id: instance, hostname: 'h', pid: 1, listen_address: 'x', started_at: at, heartbeat_at: at }).execute();
      const results = await Promise.all(Array.from({ length: 20 }, () => writeTransaction(db, (trx) => claimSession(trx, sessionRow('Shon', instance)))));
      expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
      const live = await findSessionByUser(db, 'shon');
      expect(live).toBeDefined();
      await releaseSessions(db, [{ id: live!.id }]);
      expect(await claimSession(db, sessionRow('shon', instance))).toBe('claimed');
    });

    it('commits a write transaction and rolls back a failed one', async () => {
      const { db } = await (await fresh(kind)).open();
      await writeTransaction(db, (trx) => insertUser(trx, { username: 'kept', passwordHash: 'h', at }));
      await expect(
        writeTransaction(db, async (trx) => {
          await insertUser(trx, { username: 'undone', passwordHash: 'h', at });
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect((await listUsers(db)).map((u) => u.username)).toEqual(['kept']);
    });

    it('upserts throttle rows by key and appends and queries audit rows', async () => {
      const { db } = await (await fresh(kind)).open();
      const record = { kind: 'address' as const, key: '10.0.0.1', failures: [{ at: 1, from: 'shon' }], windowMs: 60_000, penaltyLevel: 0, lockedUntil: null, updatedAt: 1, expiresAt: 2 };
      await saveThrottle(db, record);
      await saveThrottle(db, { ...record, failures: [...record.failures, { at: 2, from: 'ada' }], penaltyLevel: 1, lockedUntil: 5000 });
      const rows = await findThrottles(db, { address: '10.0.0.1' });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ penaltyLevel: 1, lockedUntil: 5000, failures: [{ at: 1, from: 'shon' }, { at: 2, from: 'ada' }] });
      await appendAuditMany(db, [
        { ts: at, event: 'user_add', username: 'Shon', actor: 'root' },
        { ts: '2026-12-01T00:00:01.000Z', event: 'user_disable', username: 'Shon', actor: 'root' },
      ]);
      expect((await queryAudit(db, { username: 'shon', limit: 10 })).map((r) => r.event)).toEqual(['user_disable', 'user_add']);
    });

    it('audits the end of a session longer than 2^31 ms (24.8 days) and reads its duration back as a number', async () => {
      const { db } = await (await fresh(kind)).open();
      const thirtyDays = 30 * 24 * 3600 * 1000;
      await appendAuditMany(db, [{ ts: at, event: 'session_end', username: 'bot', reason: 'quit', session_id: 's-long', duration_ms: thirtyDays }]);
      const [row] = await queryAudit(db, { username: 'bot', limit: 1 });
      expect(row?.duration_ms).toBe(thirtyDays);
    });

    it('stores history in batches (a repeated id fails a plain batch whole, and is skipped by a retry), replays the newest oldest first, filters, retains in bounded batches and purges', async () => {
      const { db } = await (await fresh(kind)).open();
      const msg = (i: number, from = 'Shon') => ({ id: `0mi${String(i).padStart(6, '0')}000-tag`, from, text: `line ${i}`, ts: new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString() });
      await writeTransaction(db, (trx) => insertMessages(trx, Array.from({ length: 600 }, (_, i) => msg(i, i % 2 === 0 ? 'Shon' : 'ada'))));
      await expect(writeTransaction(db, (trx) => insertMessages(trx, [msg(599, 'ada'), msg(600, 'ada')]))).rejects.toThrow();
      expect(await countMessages(db)).toBe(600);
      await writeTransaction(db, (trx) => insertMessages(trx, [msg(599, 'ada'), msg(600, 'ada')], { skipStored: true }));
      expect(await countMessages(db)).toBe(601);
      const recent = await recentMessages(db, 3);
      expect(recent.map((m) => m.text)).toEqual(['line 598', 'line 599', 'line 600']);
      expect(recent[2]).toEqual(msg(600, 'ada'));
      const shons = await queryMessages(db, { username: 'SHON', since: msg(590).ts, limit: 100 });
      expect(shons.map((m) => m.text)).toEqual(['line 590', 'line 592', 'line 594', 'line 596', 'line 598']);
      expect(await deleteMessagesBefore(db, msg(250).ts, 100)).toBe(100);
      expect(await deleteMessagesBefore(db, msg(250).ts, 200)).toBe(150);
      expect(await deleteMessagesBefore(db, msg(250).ts, 200)).toBe(0);
      expect((await queryMessages(db, { limit: 1000 }))[0]!.text).toBe('line 250');
      expect(await purgeMessages(db, msg(300).ts)).toBe(50);
      expect(await purgeMessages(db, undefined)).toBe(301);
      expect(await recentMessages(db, 50)).toEqual([]);
    });

    it('resume tokens: stored hashed, one per user, consumed exactly once by 20 racing resumes, revoked, pruned in bounded batches, gone with the user', async () => {
      const { db } = await (await fresh(kind)).open();
      const shon = await insertUser(db, { username: 'Shon', passwordHash: 'h', at });
      const now = Date.parse(at);
      const first = newResumeToken();
      expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await issueResumeToken(db, { token: first, userId: shon.id, usernameKey: 'shon', sessionId: 's1', at: now, ttlMs: 60_000 });
      expect((await findResumeTokenOfUser(db, 'shon'))?.token_hash).toBe(hashResumeToken(first));
      // A newer login's token replaces the older one.
      const second = newResumeToken();
      await issueResumeToken(db, { token: second, userId: shon.id, usernameKey: 'shon', sessionId: 's2', at: now, ttlMs: 60_000 });
      expect(await consumeResumeToken(db, first, now)).toBeUndefined();
      const results = await Promise.all(Array.from({ length: 20 }, () => writeTransaction(db, (trx) => consumeResumeToken(trx, second, now))));
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ expired: false, row: { session_id: 's2', username_key: 'shon' } });

      const third = newResumeToken();
      await issueResumeToken(db, { token: third, userId: shon.id, usernameKey: 'shon', sessionId: 's3', at: now, ttlMs: 1000 });
      expect(await consumeResumeToken(db, third, now + 1000)).toMatchObject({ expired: true });
      await issueResumeToken(db, { token: newResumeToken(), userId: shon.id, usernameKey: 'shon', sessionId: 's4', at: now, ttlMs: 1000 });
      expect(await revokeResumeTokens(db, { sessionIds: ['s4'] })).toBe(1);
      await issueResumeToken(db, { token: newResumeToken(), userId: shon.id, usernameKey: 'shon', sessionId: 's5', at: now, ttlMs: 1000 });
      expect(await revokeResumeTokens(db, { usernameKey: 'shon' })).toBe(1);

      // Expired rows go in batches of the given size.
      const users = await Promise.all(Array.from({ length: 5 }, (_, i) => insertUser(db, { username: `u${i}`, passwordHash: 'h', at })));
      for (const user of users) await issueResumeToken(db, { token: newResumeToken(), userId: user.id, usernameKey: user.username_key, sessionId: `x${user.id}`, at: now, ttlMs: 1000 });
      expect(await pruneExpiredResumeTokens(db, now + 500, 2)).toBe(0);
      expect(await pruneExpiredResumeTokens(db, now + 1000, 2)).toBe(2);
      expect(await pruneExpiredResumeTokens(db, now + 1000, 10)).toBe(3);
      // A removed user's token goes with the row (foreign key).
      await issueResumeToken(db, { token: newResumeToken(), userId: users[0]!.id, usernameKey: 'u0', sessionId: 'y', at: now, ttlMs: 1000 });
      await deleteUser(db, users[0]!.id);
      expect(await findResumeTokenOfUser(db, 'u0')).toBeUndefined();
    });

    it('session takeovers: asked once per session, listed per instance, deleted, and gone with a dead instance', async () => {
      const { db } = await (await fresh(kind)).open();
      const instance = randomUUID();
      await db.insertInto('instances').values({ id: instance, hostname: 'h', pid: 1, listen_address: 'x', started_at: at, heartbeat_at: at }).execute();
      await requestTakeover(db, { session_id: 'old', instance_id: instance, by_session_id: 'new', requested_at: at });
      await requestTakeover(db, { session_id: 'old', instance_id: instance, by_session_id: 'newer', requested_at: at });
      expect(await pendingTakeovers(db, instance)).toEqual([{ session_id: 'old', instance_id: instance, by_session_id: 'new', requested_at: at }]);
      await deleteTakeovers(db, ['old']);
      expect(await pendingTakeovers(db, instance)).toEqual([]);
      await requestTakeover(db, { session_id: 'old2', instance_id: instance, by_session_id: 'new', requested_at: at });
      await db.deleteFrom('instances').where('id', '=', instance).execute();
      expect(await pendingTakeovers(db, instance)).toEqual([]);
    });
  });
}
