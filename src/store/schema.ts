import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The tables every chat-server process and chat-admin share. Times are ISO 8601
 * UTC strings so that SQLite and PostgreSQL adapters store the same values.
 */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  instances: InstancesTable;
  audit_log: AuditLogTable;
  login_throttles: LoginThrottlesTable;
  messages: MessagesTable;
  resume_tokens: ResumeTokensTable;
  session_takeovers: SessionTakeoversTable;
}

export interface UsersTable {
  id: Generated<number>;
  /** As the admin typed it; shown to everyone. */
  username: string;
  /** Lower-cased username: the unique key, so `Shon` and `shon` are one user. */
  username_key: string;
  password_hash: string;
  /** 0 or 1 (SQLite has no boolean). */
  disabled: ColumnType<number, number | undefined, number>;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

/**
 * One row per live session across every server process. The unique index on
 * username_key is what enforces "one live session per user": a racing second
 * login fails its insert instead of passing a check-then-insert.
 */
export interface SessionsTable {
  id: string;
  user_id: number | null;
  username: string;
  username_key: string;
  instance_id: string;
  peer_address: string;
  mode: 'text' | 'json';
  connected_at: string;
  last_activity_at: string;
  /**
   * Set by chat-admin (kick, remove, disable); the owning server polls for it
   * and ends the session. NULL while nobody asked.
   */
  end_request: EndRequest | null;
  end_request_note: string | null;
  end_requested_by: string | null;
}

export type EndRequest = 'kicked' | 'removed' | 'disabled';

/** A running (or crashed) chat-server process, so that only dead ones' sessions are cleared. */
export interface InstancesTable {
  id: string;
  hostname: string;
  pid: number;
  listen_address: string;
  started_at: string;
  heartbeat_at: string;
  /** Open connections, as of the last heartbeat. */
  connections: ColumnType<number, number | undefined, number>;
  /** Users logged in on it, as of the last heartbeat. */
  users: ColumnType<number, number | undefined, number>;
  /** The key prefix of the bus it uses; NULL = it runs without a bus. */
  bus_prefix: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface AuditLogTable {
  id: Generated<number>;
  ts: string;
  event: AuditEvent;
  /** As received or stored; wire usernames are cleaned and length-capped first. */
  username: string | null;
  username_key: string | null;
  /** 'ok' | 'failed' for logins; NULL where it has no meaning. */
  outcome: string | null;
  reason: string | null;
  peer_address: string | null;
  mode: string | null;
  instance_id: string | null;
  session_id: string | null;
  duration_ms: number | null;
  /** Who did it, for admin events (the OS user running chat-admin). */
  actor: string | null;
  /** Free text: a kick reason, an import count. */
  detail: string | null;
}

/**
 * Failed logins counted across connections and server processes, per client
 * address and per username key. Written only on failed attempts; a login
 * reads it once by primary key.
 */
export interface LoginThrottlesTable {
  kind: ThrottleKind;
  /** A client address, or a lower-cased username. */
  key: string;
  /** Recent failures, oldest first: `[[ms since epoch, the other side (username or address)], ...]`. */
  failures_json: string;
  /** The counting window of the server that last wrote the row, so readers can tell which failures still count. */
  window_ms: number;
  /** How many times this key has been locked; each lock lasts twice the one before, up to a cap. */
  penalty_level: number;
  locked_until: string | null;
  updated_at: string;
  /** When the row no longer matters (no failure in the window, lock over, level forgotten): pruned after it. */
  expires_at: string;
}

export type ThrottleKind = 'address' | 'user';

/**
 * Recent room messages (never direct messages), kept for the retention
 * period. `id` is the message id: unique across instances and, compared as
 * a string, ordered by the time the message was said.
 */
export interface MessagesTable {
  id: string;
  /** As the sender's name is shown. */
  username: string;
  username_key: string;
  /** Sanitised, as every recipient got it. */
  text: string;
  /** ISO 8601 UTC, as sent in the message's `ts`. */
  ts: string;
}

/**
 * Session resumption: the one live token of a user (its newest login's),
 * kept only as a hash. Deleted when used, on quit, kick, removal, disable
 * and password change, and after expires_at.
 */
export interface ResumeTokensTable {
  /** Hex SHA-256 of the token. */
  token_hash: string;
  user_id: number;
  username_key: string;
  /** The session the token was issued to (its end by quit revokes it). */
  session_id: string;
  issued_at: string;
  expires_at: string;
}

/**
 * A resume took over a session held by another instance: that instance ends
 * the old connection (bye `replaced`) and deletes the row.
 */
export interface SessionTakeoversTable {
  session_id: string;
  instance_id: string;
  by_session_id: string;
  requested_at: string;
}

export const AUDIT_EVENTS = [
  'login',
  'session_end',
  'kick',
  'user_add',
  'user_remove',
  'user_disable',
  'user_enable',
  'user_passwd',
  'throttle_clear',
  'history_purge',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type NewSessionRow = Insertable<SessionsTable>;
export type InstanceRow = Selectable<InstancesTable>;
export type NewInstanceRow = Insertable<InstancesTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type NewAuditRow = Insertable<AuditLogTable>;
export type ThrottleRow = Selectable<LoginThrottlesTable>;
export type MessageRow = Selectable<MessagesTable>;
export type ResumeTokenRow = Selectable<ResumeTokensTable>;
export type SessionTakeoverRow = Selectable<SessionTakeoversTable>;
