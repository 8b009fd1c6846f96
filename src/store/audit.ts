import type { Kysely } from 'kysely';
import type { AuditEvent, AuditRow, Database, NewAuditRow } from './schema.js';
import { usernameKey } from './users.js';

export type AuditEntry = Omit<NewAuditRow, 'id' | 'username_key'>;

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
