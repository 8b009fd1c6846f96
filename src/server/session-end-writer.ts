import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { appendAuditMany, sessionsWithEnd, type AuditEntry } from '../store/audit.js';
import { sqliteCode } from '../store/dialects/sqlite.js';
import { StoreError } from '../store/errors.js';
import { writeTransaction } from '../store/open-store.js';
import type { Database } from '../store/schema.js';
import { revokeResumeTokens } from '../store/resume-tokens.js';
import { releaseSessions } from '../store/sessions.js';
import type { Logger } from './log.js';

/** One session's end as the store must record it: its row deleted, its audit row written. */
export interface SessionEnd {
  readonly sessionId: string;
  /**
   * The row's connected_at: only that row is released. A connection keeps its
   * session id across login attempts, so the end of a claim that committed
   * late must not release the claim of a later attempt on the same connection.
   */
  readonly connectedAt?: string;
  readonly audit: AuditEntry;
}

/** Store failures that pass by themselves (a lock held by another process, a file made read-only for a while, a full disk): worth retrying. */
const TRANSIENT_STORE_CODES: ReadonlySet<string> = new Set(['DB_LOCKED', 'DB_READ_ONLY', 'DB_READONLY', 'DB_BUSY', 'DB_UNAVAILABLE', 'DB_IO', 'DB_FULL']);
const TRANSIENT_SQLITE_PREFIXES = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL'];

/** Ends after which the session's resume token must not work (PROTOCOL.md: quit, kick, removal, disable). */
const REVOKING_ENDS: ReadonlySet<string> = new Set(['quit', 'kicked', 'removed', 'disabled']);

export function isTransientStoreError(error: unknown): boolean {
  if (error instanceof StoreError) return TRANSIENT_STORE_CODES.has(error.code);
  const code = sqliteCode(error);
  return code !== undefined && TRANSIENT_SQLITE_PREFIXES.some((prefix) => code.startsWith(prefix));
}

export interface SessionEndWriterOptions {
  /** Where ends still unwritten at shutdown are kept for the next start (next to the database). */
  spoolFile: string;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Ends written per transaction. */
  batch?: number;
}

/**
 * Writes session ends to the store in the order they happened, each batch in
 * one transaction (row released and end audited together). A transient
 * failure keeps the batch at the head of the queue and retries it with a
 * growing pause (100 ms doubling to 5 s), so nothing is lost, reordered or
 * written twice; the queue holds at most one end per session this server
 * had. Whatever is still unwritten when the server stops goes to a spool
 * file, replayed at the next start. An end whose row is already gone is
 * skipped where the audit log has it (a replay of what a previous run wrote
 * just before stopping, or a session another instance cleared as crashed),
 * so nothing is doubled.
 */
export class SessionEndWriter {
  readonly #queue: Array<{ end: SessionEnd; written?: () => void }> = [];
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #batch: number;
  #pauseMs = 0;
  /** Ends still to be written one per transaction, after a batch that held them failed for good: only the bad one is dropped. */
  #singly = 0;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #idle: Array<() => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    private readonly options: SessionEndWriterOptions,
  ) {
    this.#retryMinMs = options.retryMinMs ?? 100;
    this.#retryMaxMs = options.retryMaxMs ?? 5000;
    this.#batch = options.batch ?? 200;
  }

  /** Ends not written yet. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues an end; `written` runs once it is committed. */
  write(end: SessionEnd, written?: () => void): void {
    this.#queue.push(written === undefined ? { end } : { end, written });
    this.#kick();
  }

  /** Queues what a previous run left in the spool file, ahead of anything new. Returns how many. */
  loadSpool(): number {
    const file = this.options.spoolFile;
    if (!existsSync(file)) return 0;
    const ends: SessionEnd[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        ends.push(JSON.parse(line) as SessionEnd);
      } catch {
        this.logger.error('spool_error', { file, error: 'unreadable line skipped' });
      }
    }
    this.#queue.unshift(...ends.map((end) => ({ end })));
    this.#kick();
    return ends.length;
  }

  /** Resolves once everything queued so far is written, or at `deadline` (epoch ms), whichever comes first. */
  async settle(deadline: number): Promise<void> {
    if (this.#queue.length === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      timer.unref();
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Stops retrying and keeps whatever is still unwritten in the spool file
   * (or removes the file when nothing is left). Returns how many were kept.
   */
  stop(): number {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const file = this.options.spoolFile;
    if (this.#queue.length === 0) {
      rmSync(file, { force: true });
      return 0;
    }
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, this.#queue.map(({ end }) => `${JSON.stringify(end)}\n`).join(''), { mode: 0o600 });
    renameSync(temporary, file);
    return this.#queue.length;
  }

  #kick(): void {
    if (this.#stopped || this.#running !== undefined || this.#timer !== undefined) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped) {
      const batch = this.#queue.slice(0, this.#singly > 0 ? 1 : this.#batch);
      try {
        await this.#commit(batch);
      } catch (error) {
        if (!isTransientStoreError(error)) {
          if (batch.length > 1) {
            // One end the store refuses must not take the others of its batch with it: write them one by one.
            this.#singly = batch.length;
            continue;
          }
          // A bug or a damaged row, not a passing fault: retrying cannot help, and it must not block the ends behind it.
          this.logger.error('store_error', { during: 'session_end', session_id: batch[0]!.end.sessionId, error: error instanceof Error ? error.message : String(error) });
          this.#removeWritten(1);
          continue;
        }
        // A connection lost during COMMIT leaves it unknown whether the batch was written; if it was, its rows are gone and the retry finds the ends in the log.
        this.#pauseMs = Math.min(this.#retryMaxMs, Math.max(this.#retryMinMs, this.#pauseMs * 2));
        if (this.#pauseMs === this.#retryMinMs) this.logger.error('store_unavailable', { during: 'session_end', pending: this.#queue.length, error: error instanceof Error ? error.message : String(error) });
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#kick();
        }, this.#pauseMs);
        this.#timer.unref();
        return;
      }
      if (this.#pauseMs > 0) this.logger.info('store_recovered', { during: 'session_end', pending: this.#queue.length - batch.length });
      this.#pauseMs = 0;
      this.#removeWritten(batch.length);
      for (const item of batch) item.written?.();
    }
  }

  /** The first `count` ends are done with (written, or dropped for good). */
  #removeWritten(count: number): void {
    this.#queue.splice(0, count);
    this.#singly = Math.max(0, this.#singly - count);
    if (this.#queue.length > 0) return;
    if (existsSync(this.options.spoolFile)) rmSync(this.options.spoolFile, { force: true });
    for (const wake of this.#idle.splice(0)) wake();
  }

  async #commit(batch: ReadonlyArray<{ end: SessionEnd }>): Promise<void> {
    await writeTransaction(this.db, async (trx) => {
      const released = await releaseSessions(trx, batch.map(({ end }) => (end.connectedAt === undefined ? { id: end.sessionId } : { id: end.sessionId, connectedAt: end.connectedAt })));
      const revoked = batch.filter(({ end }) => REVOKING_ENDS.has(end.audit.reason ?? '')).map(({ end }) => end.sessionId);
      if (revoked.length > 0) await revokeResumeTokens(trx, { sessionIds: revoked });
      // A row this server still had was never audited as ended. One already gone may have been:
      // by a previous run (a replayed end), or by another instance that took this one for dead.
      const gone = batch.map(({ end }) => end.sessionId).filter((id) => !released.has(id));
      const done = gone.length === 0 ? new Set<string>() : await sessionsWithEnd(trx, gone);
      const fresh: AuditEntry[] = [];
      for (const { end } of batch) {
        if (done.has(end.sessionId)) continue;
        done.add(end.sessionId);
        fresh.push(end.audit);
      }
      await appendAuditMany(trx, fresh);
    });
  }
}
