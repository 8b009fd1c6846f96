import type { Kysely } from 'kysely';
import type { Database, SessionTakeoverRow } from './schema.js';

/**
 * A resume replaced a session whose row named another instance: that
 * instance is asked, through this table, to end the old connection. The
 * database alone carries it (no bus needed); a dead instance's requests go
 * with its row.
 */
export async function requestTakeover(db: Kysely<Database>, takeover: SessionTakeoverRow): Promise<void> {
  await db.insertInto('session_takeovers').values(takeover).onConflict((oc) => oc.column('session_id').doNothing()).execute();
}

/** Takeovers this instance has to carry out. */
export async function pendingTakeovers(db: Kysely<Database>, instanceId: string): Promise<SessionTakeoverRow[]> {
  return db.selectFrom('session_takeovers').selectAll().where('instance_id', '=', instanceId).execute();
}

export async function deleteTakeovers(db: Kysely<Database>, sessionIds: readonly string[]): Promise<void> {
  for (let i = 0; i < sessionIds.length; i += 500) {
    await db.deleteFrom('session_takeovers').where('session_id', 'in', sessionIds.slice(i, i + 500)).execute();
  }
}
