import type { Kysely } from 'kysely';
import type { AuditEvent, AuditRow, Database, NewAuditRow } from './schema.js';
import { usernameKey } from './users.js';

export type AuditEntry = Omit<NewAuditRow, 'id' | 'username_key'>;

type AuditFields = Required<{ [K in keyof AuditEntry]: Exclude<AuditEntry[K], undefined> }>;

/** The one place an audit row is shaped: a writer names what it knows, every other column is null. */
export function newAuditEntry(fields: Pick<AuditFields, 'ts' | 'event'> & Partial<AuditFields>): AuditFields {
  return {
    username: null,
    outcome: null,
    reason: null,
    peer_address: null,
    mode: null,
    instance_id: null,
    session_id: null,
    duration_ms: null,
    actor: null,
    detail: null,
    ...fields,
  };
}

/** A live session as the audit needs it. */
export interface AuditedSession {
  readonly sessionId: string;
  readonly username: string;
  readonly peerAddress: string;
  readonly mode: string;
  readonly instanceId: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
}

export function sessionEndEntry(session: AuditedSession, reason: string, at: number, detail: string | null = null): AuditFields {
  return newAuditEntry({
    ts: new Date(at).toISOString(),
    event: 'session_end',
    username: session.username,
    reason,
    peer_address: session.peerAddress,
    mode: session.mode,
    instance_id: session.instanceId,
    session_id: session.sessionId,
    duration_ms: Math.max(0, at - session.connectedAt),
    detail,
  });
}

/** Of these sessions, the ones whose end is already in the audit log (so a replayed or repeated end is not written twice). */
export async function sessionsWithEnd(db: Kysely<Database>, sessionIds: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < sessionIds.length; i += 500) {
    const rows = await db
      .selectFrom('audit_log')
      .select('session_id')
      .where('event', '=', 'session_end')
      .where('session_id', 'in', sessionIds.slice(i, i + 500))
      .execute();
    for (const row of rows) if (row.session_id !== null) found.add(row.session_id);
  }
  return found;
}

export async function appendAudit(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ ...entry, username_key: entry.username == null ? null : usernameKey(entry.username) })
    .execute();
}

export async function appendAuditMany(db: Kysely<Database>, entries: readonly AuditEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 200) {
    const chunk = entries.slice(i, i + 200);
    await db
      .insertInto('audit_log')
      .values(chunk.map((entry) => ({ ...entry, username_key: entry.username == null ? null : usernameKey(entry.username) })))
      .execute();
  }
}

export interface AuditQuery {
  username?: string;
  event?: AuditEvent;
  /** ISO timestamp: only rows at or after it. */
  since?: string;
  limit: number;
}

/** Newest first. */
export async function queryAudit(db: Kysely<Database>, query: AuditQuery): Promise<AuditRow[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (query.username !== undefined) q = q.where('username_key', '=', usernameKey(query.username));
  if (query.event !== undefined) q = q.where('event', '=', query.event);
  if (query.since !== undefined) q = q.where('ts', '>=', query.since);
  return q.orderBy('ts', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
}
