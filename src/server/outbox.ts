/** The part of a socket an Outbox writes to (a net.Socket, or a fake in tests). */
export interface OutboxSink {
  write(chunk: Buffer, callback: (error?: Error | null) => void): boolean;
  readonly writableLength: number;
}

/** Batches flushes: every outbox with data is written once per event-loop turn. */
export class FlushScheduler {
  readonly #dirty = new Set<Outbox>();
  #scheduled = false;

  schedule(outbox: Outbox): void {
    this.#dirty.add(outbox);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flushAll);
  }

  readonly #flushAll = (): void => {
    this.#scheduled = false;
    // Snapshot first: a flush may schedule more, which then belongs to the next turn.
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const outbox of dirty) outbox.flush();
  };
}

/**
 * A bounded send queue. Frames pushed during one turn are joined into one
 * write. When what is queued here plus what the socket still holds passes the
 * limit, the client is a slow consumer: `onOverflow` runs (once, on the next
 * tick, so a broadcast in progress is never re-entered) and later frames are
 * dropped.
 */
export class Outbox {
  #frames: Buffer[] = [];
  #queuedBytes = 0;
  #overflowed = false;
  /** When the socket last had nothing pending, or last made progress; undefined while idle. */
  #waitingSince: number | undefined;

  constructor(
    private readonly sink: OutboxSink,
    private readonly scheduler: FlushScheduler,
    private readonly limitBytes: number,
    private readonly onOverflow: () => void,
    private readonly now: () => number,
  ) {}

  /** Bytes accepted but not yet handed to the kernel. */
  get pendingBytes(): number {
    return this.#queuedBytes + this.sink.writableLength;
  }

  get overflowed(): boolean {
    return this.#overflowed;
  }

  push(frame: Buffer): void {
    if (this.#overflowed) return;
    this.#frames.push(frame);
    this.#queuedBytes += frame.length;
    if (this.limitBytes > 0 && this.pendingBytes > this.limitBytes) {
      this.#overflowed = true;
      this.#frames = [];
      this.#queuedBytes = 0;
      process.nextTick(this.onOverflow);
      return;
    }
    if (this.#frames.length === 1) this.scheduler.schedule(this);
  }

  /** Writes everything queued now (the scheduler calls this; so does a close). */
  flush(): void {
    if (this.#frames.length === 0) return;
    const data = this.#frames.length === 1 ? this.#frames[0]! : Buffer.concat(this.#frames, this.#queuedBytes);
    this.#frames = [];
    this.#queuedBytes = 0;
    if (this.#waitingSince === undefined) this.#waitingSince = this.now();
    this.sink.write(data, this.#written);
  }

  /** True when output has been pending without progress for longer than `timeoutMs`. */
  stalled(timeoutMs: number): boolean {
    return this.#waitingSince !== undefined && this.sink.writableLength > 0 && this.now() - this.#waitingSince > timeoutMs;
  }

  readonly #written = (error?: Error | null): void => {
    if (error) return;
    this.#waitingSince = this.sink.writableLength > 0 ? this.now() : undefined;
  };
}
