import type { BusLog } from './bus.js';

/** A message waiting to be sent, with the sequence number its instance gave it. */
export interface OutboundEntry {
  seq: number;
  to: string | undefined;
  body: string;
  /** What the entry counts against the buffer's bound. */
  bytes: number;
}

const DROP_REPORT_MS = 1000;

/** 16 MiB: a 10 s outage at 8 000 messages/s of 200 bytes (docs/cluster.md). */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * The sending side's buffer, the same for every bus: numbers messages 1, 2,
 * 3... in publish order and keeps them until the bus confirms them, at most
 * `maxBytes` of bodies. A message that does not fit is refused before it
 * gets a number, so the numbers an instance sends have no gaps and a
 * receiver that sees one knows a message was lost on the way. Refusals are
 * counted and logged at most once a second, with their count.
 */
export class Outbound {
  published = 0;
  dropped = 0;
  readonly maxBytes: number;
  readonly #log: BusLog;
  #entries: OutboundEntry[] = [];
  #head = 0;
  #bytes = 0;
  #nextSeq = 1;
  #unreported = 0;
  #reportTimer: NodeJS.Timeout | undefined;

  constructor(maxBytes: number, log: BusLog) {
    this.maxBytes = maxBytes;
    this.#log = log;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Queues a body; false when the buffer is full (the message is dropped). */
  push(to: string | undefined, body: string): boolean {
    const bytes = Buffer.byteLength(body) + (to?.length ?? 0);
    if (this.#bytes + bytes > this.maxBytes) {
      this.dropped += 1;
      this.#unreported += 1;
      this.#reportTimer ??= setTimeout(() => this.#reportDrops(), DROP_REPORT_MS).unref();
      return false;
    }
    this.#entries.push({ seq: this.#nextSeq++, to, body, bytes });
    this.#bytes += bytes;
    this.published += 1;
    return true;
  }

  /** The oldest unconfirmed entries, at most `maxCount` and about `maxBytes` (always at least one when any wait). */
  peek(maxCount: number, maxBytes: number): OutboundEntry[] {
    const batch: OutboundEntry[] = [];
    let bytes = 0;
    for (let i = this.#head; i < this.#entries.length && batch.length < maxCount; i++) {
      const entry = this.#entries[i]!;
      bytes += entry.bytes;
      if (batch.length > 0 && bytes > maxBytes) break;
      batch.push(entry);
    }
    return batch;
  }

  /** Forgets every entry up to and including `seq`: the bus has it. */
  confirmThrough(seq: number): void {
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.seq <= seq) {
      const entry = this.#entries[this.#head++]!;
      this.#bytes -= entry.bytes;
    }
    // Compact once the consumed head is the larger part, so memory follows what waits.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Logs drops not yet reported; call on close. */
  flushReport(): void {
    if (this.#reportTimer !== undefined) clearTimeout(this.#reportTimer);
    this.#reportDrops();
  }

  #reportDrops(): void {
    this.#reportTimer = undefined;
    if (this.#unreported === 0) return;
    this.#log.error('bus_dropped', { count: this.#unreported, total: this.dropped, buffered_bytes: this.#bytes, max_bytes: this.maxBytes });
    this.#unreported = 0;
  }
}
