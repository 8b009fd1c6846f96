import type { Kysely } from 'kysely';
import { insertMessages, type StoredMessage } from '../store/history.js';
import type { Database } from '../store/schema.js';
import type { Logger } from './log.js';

export interface HistoryWriterOptions {
  /** Longest a message waits in the buffer before its batch is written, ms. */
  readonly intervalMs: number;
  /** A batch is written at once when it reaches this many messages; also the most one statement (one transaction) takes. */
  readonly maxBatch: number;
  /** Messages held while the store is slow or away; past it the oldest unwritten one is dropped (and counted). */
  readonly maxBuffered: number;
}

/**
 * A busy room says 20 000 messages a second (the bench's saturation): a
 * batch's cost on the event loop is one statement's round trip, whatever it
 * holds, and while that trip waits for a loaded event loop the next messages
 * pile up; so a batch takes everything waiting, up to 5000 (a quarter of a
 * second of that room), and the buffer holds a second of it.
 */
export const DEFAULT_HISTORY_WRITER: HistoryWriterOptions = Object.freeze({ intervalMs: 200, maxBatch: 5000, maxBuffered: 20_000 });
/** Retry delay after a failed batch doubles from the interval up to this. */
const MAX_RETRY_MS = 5000;
/** At most one `history_dropped` log line this often. */
const DROP_LOG_MS = 1000;

/**
 * Writes room messages to the store off the fan-out path: `record` only
 * appends to a bounded buffer; batches are written one at a time, each in one
 * statement (one transaction), at most `intervalMs` after their first
 * message (at once when `maxBatch` are waiting). A failed batch stays in front of the buffer and is
 * written again, skipping the ids already stored, so a retry never doubles a
 * message. When the store stays away long enough for the buffer to fill,
 * the oldest unwritten messages are dropped: the newest are what a login
 * replays.
 */
export class HistoryWriter {
  #pending: StoredMessage[] = [];
  #inFlight: readonly StoredMessage[] | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs: number;
  #failing = false;
  #stopped = false;
  #written = 0;
  #dropped = 0;
  #droppedSinceLog = 0;
  #lastDropLog = 0;
  #idle: Array<() => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    private readonly options: HistoryWriterOptions = DEFAULT_HISTORY_WRITER,
    /** Told after each committed batch (the recent tail marks them written). */
    private readonly onWritten: (batch: readonly StoredMessage[]) => void = () => undefined,
  ) {
    this.#retryMs = options.intervalMs;
  }

  /** Messages committed, messages dropped (buffer full), messages waiting or being written. */
  stats(): { written: number; dropped: number; buffered: number } {
    return { written: this.#written, dropped: this.#dropped, buffered: this.#pending.length + (this.#inFlight?.length ?? 0) };
  }

  /** Never waits and never throws. */
  record(message: StoredMessage): void {
    if (this.#stopped) return;
    if (this.#pending.length >= this.options.maxBuffered) this.#drop(this.#pending.length - this.options.maxBuffered + 1);
    this.#pending.push(message);
    if (this.#inFlight !== undefined || this.#failing) return;
    if (this.#pending.length >= this.options.maxBatch) this.#arm(0);
    else if (this.#timer === undefined) this.#arm(this.options.intervalMs);
  }

  /**
   * Writes what is buffered, batch after batch, until nothing is left or the
   * deadline (epoch ms) passes; then accepts nothing more. Returns how many
   * messages were left unwritten.
   */
  async stop(deadline: number): Promise<number> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#failing = false;
    while (this.#pending.length > 0 || this.#inFlight !== undefined) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (this.#inFlight === undefined) void this.#writeBatch();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.#idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#pending.length + (this.#inFlight?.length ?? 0);
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#writeBatch();
    }, ms);
    this.#timer.unref();
  }

  async #writeBatch(): Promise<void> {
    if (this.#inFlight !== undefined || this.#pending.length === 0) return;
    const batch = this.#pending.splice(0, this.options.maxBatch);
    this.#inFlight = batch;
    try {
      // One statement: its own transaction, and one round trip to the store.
      // After a failure the batch may be in the store already (a COMMIT whose answer was lost): stored ids are skipped then.
      await insertMessages(this.db, batch, { skipStored: this.#failing });
      this.#written += batch.length;
      this.#retryMs = this.options.intervalMs;
      if (this.#failing) this.logger.info('history_write_recovered', { buffered: this.#pending.length });
      this.#failing = false;
      this.#inFlight = undefined;
      this.onWritten(batch);
    } catch (error) {
      if (!this.#failing) this.logger.error('history_write_failed', { messages: batch.length, buffered: this.#pending.length + batch.length, error: error instanceof Error ? error.message : String(error) });
      this.#failing = true;
      this.#inFlight = undefined;
      this.#pending = batch.concat(this.#pending);
      if (this.#pending.length > this.options.maxBuffered) this.#drop(this.#pending.length - this.options.maxBuffered);
      this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    }
    for (const wake of this.#idle.splice(0)) wake();
    if (this.#stopped || this.#pending.length === 0) return;
    if (this.#failing) this.#arm(this.#retryMs);
    else this.#arm(this.#pending.length >= this.options.maxBatch ? 0 : this.options.intervalMs);
  }

  #drop(count: number): void {
    this.#pending.splice(0, count);
    this.#dropped += count;
    this.#droppedSinceLog += count;
    const now = Date.now();
    if (now - this.#lastDropLog < DROP_LOG_MS) return;
    this.#lastDropLog = now;
    this.logger.error('history_dropped', { count: this.#droppedSinceLog, total: this.#dropped, max_buffered: this.options.maxBuffered });
    this.#droppedSinceLog = 0;
  }
}
