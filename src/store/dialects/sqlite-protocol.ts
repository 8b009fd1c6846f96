import type SqliteDatabase from 'better-sqlite3';

/** What the main thread and the store worker thread say to each other. */
export interface SqliteWorkerData {
  file: string;
  busyTimeoutMs: number;
}

export type SqliteRequest = { op: 'query'; id: number; sql: string; parameters: readonly unknown[] } | { op: 'close' };

/** Id 0 answers the open. */
export type SqliteReply =
  | { id: number; ok: true; rows: unknown[]; changes?: number; lastInsertRowid?: number | bigint }
  | { id: number; ok: false; error: SqliteFailure };

/** An error as it crosses the thread boundary: SQLite's extended code (`SQLITE_BUSY`) survives, the class does not. */
export interface SqliteFailure {
  code: string | undefined;
  message: string;
}

/**
 * The pragmas every process needs to share one file: WAL (readers never wait
 * for a writer), NORMAL sync (safe with WAL), foreign keys. journal_mode reads
 * the header first, so a file that is not SQLite fails here, before any write.
 */
export function applySqlitePragmas(db: SqliteDatabase.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
}
