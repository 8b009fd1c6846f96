import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, ResumeTokenRow } from './schema.js';

/** Random bytes per token: 256 bits, twice the 128 PROTOCOL.md asks for; 43 characters of base64url. */
const TOKEN_BYTES = 32;

/** A new opaque token for `login_ok.resume`. */
export function newResumeToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * What the store keeps of a token. A plain SHA-256 is enough (no salt, no
 * bcrypt): the token is 256 random bits, not a password a person chose, so
 * there is no dictionary to try and a stolen table gives nothing to brute
 * force; and it keeps a resume at one cheap hash where a slow hash would
 * bring back the bcrypt storm resumption exists to avoid.
 */
export function hashResumeToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface IssuedToken {
  token: string;
  userId: number;
  usernameKey: string;
  sessionId: string;
  /** Epoch ms. */
  at: number;
  ttlMs: number;
}

/**
 * Stores the user's one live token, replacing any earlier one (a token proves
 * the newest login only, so an older client cannot take over a newer session).
 * One upsert: atomic on both dialects, also when two logins race.
 */
export async function issueResumeToken(db: Kysely<Database>, issued: IssuedToken): Promise<void> {
  const row = {
    token_hash: hashResumeToken(issued.token),
    user_id: issued.userId,
    username_key: issued.usernameKey,
    session_id: issued.sessionId,
    issued_at: new Date(issued.at).toISOString(),
    expires_at: new Date(issued.at + issued.ttlMs).toISOString(),
  };
  await db
    .insertInto('resume_tokens')
    .values(row)
    .onConflict((oc) => oc.column('username_key').doUpdateSet({ token_hash: row.token_hash, user_id: row.user_id, session_id: row.session_id, issued_at: row.issued_at, expires_at: row.expires_at }))
    .execute();
}

/**
 * Takes a token out of the store: one DELETE ... RETURNING, so of two resumes
 * racing with one token exactly one gets the row (on PostgreSQL under READ
 * COMMITTED the second DELETE waits for the first's row lock, then finds
 * nothing; SQLite serialises writers). An expired token is taken out too, and
 * reported as such.
 */
export async function consumeResumeToken(db: Kysely<Database>, token: string, now: number): Promise<{ row: ResumeTokenRow; expired: boolean } | undefined> {
  const row = await db.deleteFrom('resume_tokens').where('token_hash', '=', hashResumeToken(token)).returningAll().executeTakeFirst();
  if (row === undefined) return undefined;
  return { row, expired: row.expires_at <= new Date(now).toISOString() };
}

/** Revokes the token of a user (kick, removal, disable, new password) or of some sessions (their quit). Returns how many went. */
export async function revokeResumeTokens(db: Kysely<Database>, which: { usernameKey: string } | { sessionIds: readonly string[] }): Promise<number> {
  if ('usernameKey' in which) {
    const result = await db.deleteFrom('resume_tokens').where('username_key', '=', which.usernameKey).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
  let deleted = 0;
  // Chunked: SQLite limits the number of bound parameters per statement.
  for (let i = 0; i < which.sessionIds.length; i += 500) {
    const result = await db.deleteFrom('resume_tokens').where('session_id', 'in', which.sessionIds.slice(i, i + 500)).executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  return deleted;
}

/** Deletes at most `limit` expired tokens (a bounded batch, so a long backlog never holds the write lock for long); returns how many. */
export async function pruneExpiredResumeTokens(db: Kysely<Database>, now: number, limit: number): Promise<number> {
  const at = new Date(now).toISOString();
  const result = await db
    .deleteFrom('resume_tokens')
    .where('token_hash', 'in', (eb) => eb.selectFrom('resume_tokens').select('token_hash').where('expires_at', '<=', at).limit(limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function findResumeTokenOfUser(db: Kysely<Database>, usernameKey: string): Promise<ResumeTokenRow | undefined> {
  return db.selectFrom('resume_tokens').selectAll().where('username_key', '=', usernameKey).executeTakeFirst();
}
