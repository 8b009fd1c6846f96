import { sql, type Kysely } from 'kysely';
import { dialectOf } from './dialects/dialect.js';
import type { Database, MessageRow } from './schema.js';
import { usernameKey } from './users.js';

/** A room message as history keeps it. */
export interface StoredMessage {
  readonly id: string;
  readonly from: string;
  readonly text: string;
  readonly ts: string;
}

/**
 * Appends messages in one statement, so in one transaction of its own. The
 * rows go to the database as one JSON array parameter that the database
 * itself takes apart: the caller's thread builds one string per batch, not a
 * statement with five bound values per row (the history writer runs on the
 * server's event loop, next to the fan-out), and a batch has no
 * bound-parameter limit.
 *
 * A batch that meets an id already stored fails whole, unless `skipStored`:
 * then such ids are skipped. That is for a batch written again after a
 * failure whose outcome is not known (a COMMIT lost with its connection may
 * have applied). Not the default: on PostgreSQL `ON CONFLICT` makes every row
 * a speculative insert, 12-15 µs of the database's CPU per row against 6-9
 * without (docs/performance.md).
 */
export async function insertMessages(db: Kysely<Database>, messages: readonly StoredMessage[], options: { skipStored?: boolean } = {}): Promise<void> {
  if (messages.length === 0) return;
  const rows = JSON.stringify(messages.map((m) => [m.id, m.from, usernameKey(m.from), m.text, m.ts]));
  const ifAbsent = options.skipStored === true ? sql` on conflict (id) do nothing` : sql``;
  if (dialectOf(db).name === 'postgres') {
    // jsonb: parsed once into binary form; with json each `->>` parses its element's text again (twice the database's CPU per row).
    await sql`insert into messages (id, username, username_key, text, ts)
      select r ->> 0, r ->> 1, r ->> 2, r ->> 3, r ->> 4 from jsonb_array_elements(${rows}::jsonb) as r${ifAbsent}`.execute(db);
  } else {
    // jsonb (SQLite 3.45+; better-sqlite3 bundles its own): parsed once, a fifth cheaper than json_each of the text.
    // `where true`: SQLite's grammar needs it between INSERT ... SELECT and ON CONFLICT.
    await sql`insert into messages (id, username, username_key, text, ts)
      select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 from jsonb_each(jsonb(${rows})) where true${ifAbsent}`.execute(db);
  }
}

/** The `limit` most recent messages, oldest first. */
export async function recentMessages(db: Kysely<Database>, limit: number): Promise<StoredMessage[]> {
  if (limit <= 0) return [];
  const rows = await db.selectFrom('messages').selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows.reverse().map(toStored);
}

export interface HistoryQuery {
  /** ISO timestamp: only messages at or after it. */
  since?: string;
  username?: string;
  limit: number;
}

/** The most recent `limit` messages that match, oldest first (as a chat log reads). */
export async function queryMessages(db: Kysely<Database>, query: HistoryQuery): Promise<StoredMessage[]> {
  let q = db.selectFrom('messages').selectAll();
  if (query.username !== undefined) q = q.where('username_key', '=', usernameKey(query.username));
  if (query.since !== undefined) q = q.where('ts', '>=', query.since);
  const rows = await q.orderBy('id', 'desc').limit(query.limit).execute();
  return rows.reverse().map(toStored);
}

/**
 * Deletes up to `batch` messages older than `before` (an ISO time), oldest
 * first; returns how many. Bounded so that retention never holds the write
 * lock long: the caller repeats while it returns `batch`.
 */
export async function deleteMessagesBefore(db: Kysely<Database>, before: string, batch: number): Promise<number> {
  const result = await db
    .deleteFrom('messages')
    .where('id', 'in', db.selectFrom('messages').select('id').where('ts', '<', before).orderBy('ts').limit(batch))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deletes every message older than `before`, or all when it is undefined; returns how many. */
export async function purgeMessages(db: Kysely<Database>, before: string | undefined): Promise<number> {
  let q = db.deleteFrom('messages');
  if (before !== undefined) q = q.where('ts', '<', before);
  const result = await q.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function countMessages(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('messages').select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

function toStored(row: MessageRow): StoredMessage {
  return { id: row.id, from: row.username, text: row.text, ts: row.ts };
}
