/** Reads a chat database directly (read-only) to check what the server recorded. */
import Database from 'better-sqlite3';

export function queryDb<T = Record<string, unknown>>(dbFile: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(dbFile, { readonly: true, timeout: 5000 });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export interface AuditRowLite {
  event: string;
  username: string | null;
  outcome: string | null;
  reason: string | null;
  peer_address: string | null;
  mode: string | null;
  duration_ms: number | null;
  detail: string | null;
}

export function auditRows(dbFile: string, event?: string): AuditRowLite[] {
  return event === undefined
    ? queryDb<AuditRowLite>(dbFile, 'select * from audit_log order by id')
    : queryDb<AuditRowLite>(dbFile, 'select * from audit_log where event = ? order by id', event);
}

/**
 * Polls until `probe` (sync or async) returns a value other than undefined or
 * false (store writes land asynchronously), every `pollMs`; rejects after `timeoutMs`.
 */
export async function eventually<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, what = 'condition', pollMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
