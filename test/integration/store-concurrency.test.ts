import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { clearThrottles, removeUser, setUserDisabled } from '../../src/accounts/user-admin.js';
import { lockStarted, recordFailure, type ThrottlePolicy } from '../../src/server/login-throttle.js';
import { InstanceRegistry } from '../../src/server/instance-registry.js';
import { queryAudit } from '../../src/store/audit.js';
import { registerInstance } from '../../src/store/instances.js';
import { openStore, writeTransaction, type Store } from '../../src/store/open-store.js';
import { claimSession } from '../../src/store/sessions.js';
import { findThrottles, listThrottles, pruneThrottles, updateThrottles, type ThrottleChange } from '../../src/store/throttles.js';
import { insertUser } from '../../src/store/users.js';
import { createStoreTarget, postgresReady, STORE_KINDS, type StoreKind } from '../helpers/store-targets.js';

const withPostgres = await postgresReady();

// Read-modify-write in the store must hold with several processes' pools
// writing at once, without SQLite's database-wide write lock: on PostgreSQL
// (READ COMMITTED) the rows are locked as they are read. Several stores
// (each its own pool, as several servers) hammer one database; counts must
// come out exact. On SQLite the same cases run against one file from several
// worker threads.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stores(kind: StoreKind, count: number): Promise<Store[]> {
  const target = await createStoreTarget(kind);
  cleanups.push(() => target.remove());
  // The first creates and migrates; the others open the same database, as other servers would.
  const first = await openStore({ file: target.location, create: true, poolSize: 4, busyTimeoutMs: 15_000 });
  cleanups.push(() => first.close());
  const rest = await Promise.all(
    Array.from({ length: count - 1 }, async () => {
      const store = await openStore({ file: target.location, create: false, poolSize: 4, busyTimeoutMs: 15_000 });
      cleanups.push(() => store.close());
      return store;
    }),
  );
  return [first, ...rest];
}

function policy(overrides: Partial<ThrottlePolicy>): ThrottlePolicy {
  return { addressFailures: 1000, userFailures: 1000, windowMs: 600_000, penaltyMs: 60_000, maxPenaltyMs: 3_600_000, memoryMs: 86_400_000, trustMs: 0, ...overrides };
}

/** One failed login's count, exactly as the login service makes it: one write transaction, rows locked, expired rows pruned. */
function countFailure(store: Store, rules: ThrottlePolicy, address: string, user: string, at: number): Promise<ThrottleChange[]> {
  return writeTransaction(store.db, async (trx) => {
    const changes = await updateThrottles(trx, { address, user }, (kind, key, previous) =>
      recordFailure(rules, kind, key, previous, { at, from: kind === 'address' ? user : address }),
    );
    await pruneThrottles(trx, at);
    return changes;
  });
}

const now = Date.parse('2026-12-01T12:00:00.000Z');

describe.each(STORE_KINDS)('concurrent writers on %s', (kind) => {
  describe.skipIf(kind === 'postgres' && !withPostgres)('', () => {
    it('counts 240 simultaneous failed logins from 4 stores exactly: 12 addresses x 20, 8 users x 30', async () => {
      const all = await stores(kind, 4);
      const rules = policy({});
      // Expired rows of other keys, so that every transaction's prune has something to delete while others hold rows.
      for (let i = 0; i < 20; i += 1) await countFailure(all[0]!, rules, `10.9.9.${i}`, `old${i}`, now - 700_000_000);
      const attempts = Array.from({ length: 240 }, (_, i) => ({ address: `10.0.0.${i % 12}`, user: `user${i % 8}` }));
      await Promise.all(attempts.map((a, i) => countFailure(all[i % all.length]!, rules, a.address, a.user, now + i)));
      const rows = await listThrottles(all[0]!.db, now);
      const counts = Object.fromEntries(rows.map((r) => [`${r.kind} ${r.key}`, r.failures.length]));
      const expected: Record<string, number> = {};
      for (let i = 0; i < 12; i += 1) expected[`address 10.0.0.${i}`] = 20;
      for (let i = 0; i < 8; i += 1) expected[`user user${i}`] = 30;
      expect(counts).toEqual(expected);
      // The old rows were pruned on the way (and nothing still counted was).
      expect(await findThrottles(all[0]!.db, { address: '10.9.9.0', user: 'old0' })).toEqual([]);
    });

    it('locks a username exactly once, by its 10th failure, when 40 failures from 40 addresses arrive at once', async () => {
      const all = await stores(kind, 4);
      const rules = policy({ userFailures: 10 });
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => countFailure(all[i % all.length]!, rules, `10.1.${i}.1`, 'victim', now)),
      );
      const userChanges = results.map((changes) => changes.find((c) => c.next.kind === 'user')!);
      const locks = userChanges.filter(({ previous, next }) => lockStarted(previous, next, now));
      expect(locks).toHaveLength(1);
      // The one that locked saw nine failures before it: the lock came when due, not later (a lost count) nor twice.
      expect(locks[0]!.previous?.failures).toHaveLength(9);
      const [row] = await findThrottles(all[0]!.db, { user: 'victim' });
      expect(row).toMatchObject({ penaltyLevel: 1, lockedUntil: now + 60_000 });
      // After the lock the count starts over: the 30 failures that came while locked are kept (up to the threshold).
      expect(row!.failures).toHaveLength(10);
    });

    it('lets one of two simultaneous disables (and removes) change the user and audits each change once', async () => {
      const all = await stores(kind, 2);
      const at = new Date(now).toISOString();
      for (const name of ['dis', 'rem']) await insertUser(all[0]!.db, { username: name, passwordHash: 'h', at });
      const ctx = { actor: 'root', now: () => new Date(now) };
      const disables = await Promise.all(Array.from({ length: 6 }, (_, i) => setUserDisabled(all[i % 2]!.db, 'dis', true, ctx)));
      expect(disables.filter((r) => r.changed)).toHaveLength(1);
      const removes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => removeUser(all[i % 2]!.db, 'rem', ctx)));
      expect(removes.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of removes) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'USER_NOT_FOUND' });
      expect(await queryAudit(all[0]!.db, { event: 'user_disable', limit: 100 })).toHaveLength(1);
      expect(await queryAudit(all[0]!.db, { event: 'user_remove', limit: 100 })).toHaveLength(1);
    });

    it('reports each cleared throttle once when two admins clear all at the same time', async () => {
      const all = await stores(kind, 2);
      const rules = policy({});
      for (let i = 0; i < 10; i += 1) await countFailure(all[0]!, rules, `10.2.0.${i}`, `u${i}`, now);
      const ctx = { actor: 'root', now: () => new Date(now) };
      const cleared = await Promise.all([clearThrottles(all[0]!.db, 'all', ctx), clearThrottles(all[1]!.db, 'all', ctx)]);
      expect(cleared[0]!.length + cleared[1]!.length).toBe(20);
      expect(await queryAudit(all[0]!.db, { event: 'throttle_clear', limit: 100 })).toHaveLength(20);
    });

    it('audits the end of each session of a dead instance once when three servers reap it at the same time', async () => {
      const all = await stores(kind, 3);
      const old = new Date(now - 60_000).toISOString();
      const dead = randomUUID();
      // A process of this host that is gone: every registry sees it dead at once.
      const gonePid = spawnSync(process.execPath, ['-e', '']).pid!;
      await registerInstance(all[0]!.db, { id: dead, hostname: hostname(), pid: gonePid, listen_address: '127.0.0.1:1', started_at: old, heartbeat_at: old, bus_prefix: null });
      for (let i = 0; i < 25; i += 1) {
        const claimed = await claimSession(all[0]!.db, {
          id: randomUUID(), user_id: null, username: `s${i}`, username_key: `s${i}`, instance_id: dead, peer_address: '127.0.0.1:2', mode: 'text',
          connected_at: old, last_activity_at: old, end_request: null, end_request_note: null, end_requested_by: null,
        });
        expect(claimed).toBe('claimed');
      }
      const reapers = all.map((store) => new InstanceRegistry(store.db, randomUUID(), () => new Date(now)));
      const reaped = await Promise.all(reapers.map((r) => r.sweep()));
      expect(reaped.map((sweep) => sweep.cleared.length).sort((a, b) => a - b)).toEqual([0, 0, 25]);
      expect(await queryAudit(all[0]!.db, { event: 'session_end', limit: 100 })).toHaveLength(25);
    });
  });
});
