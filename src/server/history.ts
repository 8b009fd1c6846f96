import type { Kysely } from 'kysely';
import type { ChatMessage } from '../protocol/messages.js';
import { deleteMessagesBefore, recentMessages, type StoredMessage } from '../store/history.js';
import type { Database } from '../store/schema.js';
import { settleWithin } from '../util/settle-within.js';
import { mergeRecent, RecentTail } from './history-tail.js';
import { DEFAULT_HISTORY_WRITER, HistoryWriter, type HistoryWriterOptions } from './history-writer.js';
import type { Logger } from './log.js';

export interface HistoryOptions {
  /** Messages replayed per login; 0 = history off (nothing stored, nothing replayed). */
  readonly limit: number;
  readonly retentionMs: number;
  readonly writer?: HistoryWriterOptions;
}

/** A login reuses a store read begun this recently: a thousand logins at once cost one query. */
const SNAPSHOT_REUSE_MS = 1000;
/** Longest a login waits for the store's rows; past it the replay is what this instance holds in memory. */
const SNAPSHOT_WAIT_MS = 3000;
/** Recent messages held in memory for replays, beyond the writer's buffer (see RecentTail): well above SNAPSHOT_REUSE_MS + SNAPSHOT_WAIT_MS. */
const TAIL_KEEP_MS = 10_000;
/** Retention deletes this many rows per statement, so that it never holds the write lock long. */
const RETENTION_BATCH = 1000;
/** At most this many batches per retention run; the rest waits for the next run. */
const RETENTION_MAX_BATCHES = 50;

/** Builds a replay when called: at the moment the session joins the room, so nothing said before is missed. */
export type Replay = () => ChatMessage[];

/**
 * Recent history of the room (PROTOCOL.md "Recent history on login"): room
 * messages said here are recorded (buffered and written in batches by the
 * HistoryWriter), messages from other instances are only heard (their own
 * instance stores them), and a login gets the newest `limit` of the store
 * and of this instance's recent tail together. Old messages are deleted in
 * the background, in bounded batches.
 */
export class History {
  readonly #writer: HistoryWriter | undefined;
  readonly #tail: RecentTail;
  #snapshot: { at: number; rows: Promise<StoredMessage[]> } | undefined;
  #retention: NodeJS.Timeout | undefined;
  #pruning = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    private readonly options: HistoryOptions,
    private readonly now: () => number,
  ) {
    // Never longer than the retention: what retention deleted is not replayed from memory either.
    this.#tail = new RecentTail(options.limit, Math.min(TAIL_KEEP_MS, options.retentionMs), now);
    if (options.limit > 0) this.#writer = new HistoryWriter(db, logger, options.writer ?? DEFAULT_HISTORY_WRITER, (batch) => this.#tail.written(batch));
  }

  get enabled(): boolean {
    return this.options.limit > 0;
  }

  stats(): { written: number; dropped: number; buffered: number } {
    return this.#writer?.stats() ?? { written: 0, dropped: 0, buffered: 0 };
  }

  /** A room message said on this instance: kept and written. Never waits. */
  record(message: ChatMessage): void {
    if (this.#writer === undefined) return;
    // The message itself is what is kept (it has every field StoredMessage has): no copy per message on the fan-out path.
    this.#writer.record(message);
    this.#tail.add(message, true);
  }

  /** A room message said on another instance (which stores it): only kept for replays. */
  heard(message: ChatMessage): void {
    if (this.enabled) this.#tail.add(message, false);
  }

  /** The replay for a login, or undefined when history is off. Never rejects. */
  async prepare(): Promise<Replay | undefined> {
    if (!this.enabled) return undefined;
    const now = this.now();
    if (this.#snapshot === undefined || now - this.#snapshot.at > SNAPSHOT_REUSE_MS) {
      const snapshot = { at: now, rows: recentMessages(this.db, this.options.limit) };
      this.#snapshot = snapshot;
      snapshot.rows.catch((error: unknown) => {
        if (this.#snapshot === snapshot) this.#snapshot = undefined;
        this.logger.error('history_read_failed', { error: error instanceof Error ? error.message : String(error) });
      });
    }
    const rows = await settleWithin(this.#snapshot.rows, SNAPSHOT_WAIT_MS, () => [] as StoredMessage[], true).catch(() => [] as StoredMessage[]);
    return () => mergeRecent(rows, this.#tail.messages(), this.options.limit).map(toChat);
  }

  /** Starts the background retention (once at once, then every tenth of the retention, between 1 s and 1 min). */
  start(): void {
    if (!this.enabled || this.#retention !== undefined) return;
    const every = Math.min(60_000, Math.max(1000, Math.floor(this.options.retentionMs / 10)));
    this.#retention = setInterval(() => void this.prune(), every);
    this.#retention.unref();
    void this.prune();
  }

  /** Deletes messages older than the retention, batch by batch; returns how many. */
  async prune(): Promise<number> {
    if (this.#pruning) return 0;
    this.#pruning = true;
    let deleted = 0;
    try {
      const before = new Date(this.now() - this.options.retentionMs).toISOString();
      for (let i = 0; i < RETENTION_MAX_BATCHES; i += 1) {
        const n = await deleteMessagesBefore(this.db, before, RETENTION_BATCH);
        deleted += n;
        if (n < RETENTION_BATCH) break;
      }
      if (deleted > 0) this.logger.info('history_pruned', { count: deleted, before });
    } catch (error) {
      this.logger.error('store_error', { during: 'history_retention', error: error instanceof Error ? error.message : String(error) });
    } finally {
      this.#pruning = false;
    }
    return deleted;
  }

  /** Stops retention and writes what is buffered until `deadline` (epoch ms); returns how many messages were left unwritten. */
  async stop(deadline: number): Promise<number> {
    clearInterval(this.#retention);
    return (await this.#writer?.stop(deadline)) ?? 0;
  }
}

function toChat(message: StoredMessage): ChatMessage {
  return { type: 'message', from: message.from, text: message.text, ts: message.ts, id: message.id };
}
