import type { Kysely } from 'kysely';
import type { Database, EndRequest, NewSessionRow, SessionRow } from './schema.js';
import { usernameKey } from './users.js';

export type ClaimResult = 'claimed' | 'already_logged_in';

/**
 * Claims the user's one live session. The unique index on username_key
 * decides races between processes: exactly one of two simultaneous claims
 * inserts its row. ON CONFLICT DO NOTHING (not a caught violation), so that
 * on PostgreSQL the surrounding transaction stays usable.
 */
export async function claimSession(db: Kysely<Database>, session: NewSessionRow): Promise<ClaimResult> {
  const result = await db
    .insertInto('sessions')
    .values(session)
    .onConflict((oc) => oc.column('username_key').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1 ? 'claimed' : 'already_logged_in';
}

/**
 * Deletes these session rows, each only if it still has that connected_at when
 * given (releasing twice is harmless). Returns the ids whose row it deleted.
 */
export async function releaseSessions(db: Kysely<Database>, rows: ReadonlyArray<{ id: string; connectedAt?: string }>): Promise<Set<string>> {
  const released = new Set<string>();
  for (const row of rows) {
    let query = db.deleteFrom('sessions').where('id', '=', row.id);
    if (row.connectedAt !== undefined) query = query.where('connected_at', '=', row.connectedAt);
    const result = await query.executeTakeFirst();
    if (Number(result.numDeletedRows) > 0) released.add(row.id);
  }
  return released;
}

/**
 * Deletes every session of these instances and returns the rows deleted. A
 * row two instances try to clear at once is returned to one of them only
 * (the delete takes it, a concurrent one finds it gone), so its end is
 * audited once.
 */
export async function takeSessionsOfInstances(db: Kysely<Database>, instanceIds: readonly string[]): Promise<SessionRow[]> {
  if (instanceIds.length === 0) return [];
  return db.deleteFrom('sessions').where('instance_id', 'in', instanceIds).returningAll().execute();
}

export async function findSessionByUser(db: Kysely<Database>, username: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('username_key', '=', usernameKey(username)).executeTakeFirst();
}

export async function listSessions(db: Kysely<Database>): Promise<SessionRow[]> {
  return db.selectFrom('sessions').selectAll().orderBy('connected_at').execute();
}

/**
 * Asks whichever server owns the user's session to end it. Returns how many
 * sessions were asked (0 or 1).
 */
export async function requestSessionEnd(
  db: Kysely<Database>,
  username: string,
  request: { kind: EndRequest; note: string | null; by: string | null },
): Promise<number> {
  const result = await db
    .updateTable('sessions')
    .set({ end_request: request.kind, end_request_note: request.note, end_requested_by: request.by })
    .where('username_key', '=', usernameKey(username))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Sessions of one server that an admin asked to end. */
export async function pendingEndRequests(db: Kysely<Database>, instanceId: string): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where('end_request', 'is not', null)
    .execute();
}

/** Records activity in bulk (the server flushes it periodically, not per message). */
export async function touchSessions(db: Kysely<Database>, sessionIds: readonly string[], at: string): Promise<void> {
  if (sessionIds.length === 0) return;
  // Chunked: SQLite limits the number of bound parameters per statement.
  for (let i = 0; i < sessionIds.length; i += 500) {
    await db.updateTable('sessions').set({ last_activity_at: at }).where('id', 'in', sessionIds.slice(i, i + 500)).execute();
  }
}

export async function sessionsOfInstances(db: Kysely<Database>, instanceIds: readonly string[]): Promise<SessionRow[]> {
  if (instanceIds.length === 0) return [];
  return db.selectFrom('sessions').selectAll().where('instance_id', 'in', instanceIds).execute();
}
