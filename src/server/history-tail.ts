import type { StoredMessage } from '../store/history.js';

interface TailEntry {
  readonly message: StoredMessage;
  readonly at: number;
  /** Said here and not yet committed to the store. */
  pending: boolean;
}

/**
 * The last messages this instance has seen (said here or heard from another
 * instance), so that a login's replay also has what the store does not show
 * yet: messages still in the writer's buffer, and those written after the
 * replay's store read began. An entry is kept while it is among the last
 * `capacity` and either younger than `keepMs` or not yet written: so a purge
 * of the store reaches the replay within `keepMs`. Pure: the clock is passed in.
 */
export class RecentTail {
  #entries: TailEntry[] = [];

  constructor(
    private readonly capacity: number,
    private readonly keepMs: number,
    private readonly now: () => number,
  ) {}

  add(message: StoredMessage, pending: boolean): void {
    if (this.capacity <= 0) return;
    this.#entries.push({ message, at: this.now(), pending });
    if (this.#entries.length > this.capacity * 2) this.#entries = this.#entries.slice(-this.capacity);
  }

  /**
   * These were committed. Batches are written in the order their messages
   * were recorded, and the ids of one instance only grow, so every pending
   * entry up to the batch's last id is written now (or was dropped by a full
   * writer buffer, and then is kept only while young): a comparison per
   * entry, not a set of a batch of thousands.
   */
  written(batch: readonly StoredMessage[]): void {
    const last = batch[batch.length - 1]?.id;
    if (last === undefined) return;
    for (const entry of this.#entries) if (entry.pending && entry.message.id <= last) entry.pending = false;
  }

  /** What a replay must add to the store's rows, oldest first. */
  messages(): StoredMessage[] {
    const oldest = this.now() - this.keepMs;
    this.#entries = this.#entries.slice(-this.capacity).filter((entry) => entry.pending || entry.at >= oldest);
    return this.#entries.map((entry) => entry.message);
  }
}

/** The `limit` newest of both, each id once, oldest first (ids order by time). */
export function mergeRecent(stored: readonly StoredMessage[], tail: readonly StoredMessage[], limit: number): StoredMessage[] {
  const byId = new Map<string, StoredMessage>();
  for (const message of stored) byId.set(message.id, message);
  for (const message of tail) byId.set(message.id, message);
  const ids = [...byId.keys()].sort();
  return ids.slice(Math.max(0, ids.length - limit)).map((id) => byId.get(id)!);
}
