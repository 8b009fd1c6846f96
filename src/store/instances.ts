import type { Kysely } from 'kysely';
import { dialectOf } from './dialects/dialect.js';
import type { Database, InstanceRow } from './schema.js';

export async function registerInstance(db: Kysely<Database>, instance: InstanceRow): Promise<void> {
  await db.insertInto('instances').values(instance).execute();
}

export async function heartbeatInstance(db: Kysely<Database>, instanceId: string, at: string): Promise<void> {
  await db.updateTable('instances').set({ heartbeat_at: at }).where('id', '=', instanceId).execute();
}

export async function listInstances(db: Kysely<Database>): Promise<InstanceRow[]> {
  return db.selectFrom('instances').selectAll().execute();
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

/** Deleting an instance cascades to its sessions (foreign key ON DELETE CASCADE). */
export async function deleteInstance(db: Kysely<Database>, instanceId: string): Promise<void> {
  await db.deleteFrom('instances').where('id', '=', instanceId).execute();
}

/**
 * Which instances are dead: on this host, those whose process is gone (known
 * at once after a kill -9); anywhere, those whose heartbeat is older than
 * `staleBefore`.
 */
export function deadInstances(
  instances: readonly InstanceRow[],
  check: { selfId: string; hostname: string; staleBefore: string; isPidAlive: (pid: number) => boolean },
): InstanceRow[] {
  return instances.filter((instance) => {
    if (instance.id === check.selfId) return false;
    if (instance.heartbeat_at < check.staleBefore) return true;
    return instance.hostname === check.hostname && !check.isPidAlive(instance.pid);
  });
}
