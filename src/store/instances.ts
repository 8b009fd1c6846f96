import type { Kysely } from 'kysely';
import { dialectOf } from './dialects/dialect.js';
import type { Database, InstanceRow, NewInstanceRow } from './schema.js';

export async function registerInstance(db: Kysely<Database>, instance: NewInstanceRow): Promise<void> {
  await db.insertInto('instances').values(instance).execute();
}

/** What the heartbeat writes besides its time. */
export interface InstanceCounts {
  connections: number;
  users: number;
}

/** Returns false when the row is gone (another instance took this one for dead and cleared it). */
export async function heartbeatInstance(db: Kysely<Database>, instanceId: string, at: string, counts?: InstanceCounts): Promise<boolean> {
  const result = await db
    .updateTable('instances')
    .set(counts === undefined ? { heartbeat_at: at } : { heartbeat_at: at, connections: counts.connections, users: counts.users })
    .where('id', '=', instanceId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function listInstances(db: Kysely<Database>): Promise<InstanceRow[]> {
  return db.selectFrom('instances').selectAll().orderBy('started_at').orderBy('id').execute();
}

/**
 * Of these instances, the ids still registered, each row locked until the
 * transaction ends: two servers reaping one dead instance at once take turns,
 * and the second finds it gone (so its sessions' ends are audited once).
 */
export async function lockInstances(db: Kysely<Database>, instanceIds: readonly string[]): Promise<string[]> {
  if (instanceIds.length === 0) return [];
  const rows = await dialectOf(db).lockRows(db.selectFrom('instances').select('id').where('id', 'in', instanceIds).orderBy('id')).execute();
  return rows.map((row) => row.id);
}

/**
 * Whether this instance is still registered, its row kept from being deleted
 * until the transaction ends (a share lock, so many transactions may hold it).
 * Taken before touching any of the instance's sessions: a reaper locks the
 * instance first and its sessions second, so locking in the same order never
 * deadlocks with it; once a reaper has committed, the answer is false and the
 * instance's sessions are gone with it.
 */
export async function pinInstance(db: Kysely<Database>, instanceId: string): Promise<boolean> {
  const row = await dialectOf(db).lockRows(db.selectFrom('instances').select('id').where('id', '=', instanceId), 'key-share').executeTakeFirst();
  return row !== undefined;
}

/** Deleting an instance cascades to its sessions (foreign key ON DELETE CASCADE). */
export async function deleteInstance(db: Kysely<Database>, instanceId: string): Promise<void> {
  await db.deleteFrom('instances').where('id', '=', instanceId).execute();
}
