import { performance } from 'node:perf_hooks';
import { FlushWindow } from './flush-window.js';
import { TurnBatch } from './turn-batch.js';

/** The part of a socket an Outbox writes to (a net.Socket, or a fake in tests). */
export interface OutboxSink {
  write(chunk: Buffer, callback?: (error?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
}

/** Something the scheduler flushes once per event-loop turn. */
export interface Flushable {
  flush(): void;
}

export interface FlushSchedulerOptions {
  /** Bound of each broadcast stream's adaptive flush window, ms (0 or absent: write every turn). */
  readonly windowMaxMs?: number;
  /** The windows' clock: monotonic, fractional ms. */
  readonly clock?: () => number;
}

/**
 * Batches flushes: everything dirty is written once per event-loop turn, or,
 * for a broadcast stream whose window says so, a few milliseconds later.
 */
export class FlushScheduler {
  readonly #dirty = new Set<Flushable>();
  #scheduled = false;
  readonly #windowMaxMs: number;
  readonly #clock: () => number;

  constructor(options: FlushSchedulerOptions = {}) {
    this.#windowMaxMs = options.windowMaxMs ?? 0;
    this.#clock = options.clock ?? (() => performance.now());
  }

  get clock(): () => number {
    return this.#clock;
  }

  /** How long a batch of only presence changes may wait (0 when the window is off: every turn is written). */
  get presenceHoldMs(): number {
    return this.#windowMaxMs === 0 ? 0 : PRESENCE_HOLD_MS;
  }

  /** A flush window for one broadcast stream. */
  newWindow(): FlushWindow {
    return new FlushWindow(this.#windowMaxMs, this.#clock);
  }

  schedule(item: Flushable): void {
    this.#dirty.add(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flushAll);
  }

  readonly #flushAll = (): void => {
    this.#scheduled = false;
    // Snapshot first: a flush may schedule more, which then belongs to the next turn.
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const item of dirty) item.flush();
  };
}

const flushItem = (item: Flushable): void => item.flush();

/**
 * A batch holding only joins and leaves waits up to this long (ms) for
 * more: in a login storm (an instance's users failing over to this one)
 * each join would otherwise cost one write per member, which is most of
 * the storm's CPU at a thousand members. A chat message added to such a
 * batch cuts the wait to the normal window, so nothing is reordered and a
 * message is never held for presence. docs/performance.md has the numbers.
 */
export const PRESENCE_HOLD_MS = 50;

/**
 * The broadcast stream of one mode: frames published until the next flush go
 * into one TurnBatch, which every member's Outbox writes at flush. The flush
 * comes at the end of the turn, or when the stream's FlushWindow says, if it
 * is busy. A member with frames of its own (acks, replies) does not wait for
 * the window: its outbox writes what it owes of the batch so far, then them.
 */
export class BroadcastChannel implements Flushable {
  readonly #members = new Set<Outbox>();
  #current = new TurnBatch();
  readonly #window: FlushWindow;
  /**
   * How the current batch is to be written: `presence` (only joins and
   * leaves so far: when `#timer` fires, unless a message brings it forward),
   * `held` (by `#dueAt`, the window's end on the scheduler's clock, or once
   * messages stop coming), `turn` (at the end of this turn); `none` while
   * the batch is empty.
   */
  #due: 'none' | 'presence' | 'held' | 'turn' = 'none';
  #dueAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly scheduler: FlushScheduler) {
    this.#window = scheduler.newWindow();
  }

  get size(): number {
    return this.#members.size;
  }

  /** The batch being filled this turn. */
  get current(): TurnBatch {
    return this.#current;
  }

  add(outbox: Outbox): void {
    this.#members.add(outbox);
    outbox.follow(this);
  }

  remove(outbox: Outbox): void {
    if (this.#members.delete(outbox)) outbox.unfollow(this);
  }

  has(outbox: Outbox): boolean {
    return this.#members.has(outbox);
  }

  /**
   * Adds a frame for every member except `from` (which must be a member, or
   * undefined). `presence`: a join or leave, which may wait longer for
   * company (PRESENCE_HOLD_MS) as long as no message joins the batch.
   */
  publish(frame: Buffer, from: Outbox | undefined, presence = false): void {
    const index = this.#current.add(frame);
    from?.skip(this, index);
    if (presence && this.scheduler.presenceHoldMs > 0) {
      if (this.#due !== 'none') return;
      const wait = Math.max(this.#window.holdMs(), this.scheduler.presenceHoldMs);
      this.#due = 'presence';
      this.#dueAt = this.scheduler.clock() + wait;
      this.#timer = setTimeout(flushItem, wait, this);
      return;
    }
    if (!presence) this.#window.arrived();
    if (this.#due === 'held' || this.#due === 'turn') return;
    // The batch's first message (or first frame) sets when it is written at the latest; held presence comes forward with it.
    clearTimeout(this.#timer);
    const hold = this.#window.holdMs();
    if (hold <= 0) {
      this.#due = 'turn';
      this.scheduler.schedule(this);
      return;
    }
    // Held presence keeps its own deadline if that comes first.
    const dueAt = this.scheduler.clock() + hold;
    this.#dueAt = this.#due === 'presence' ? Math.min(this.#dueAt, dueAt) : dueAt;
    this.#due = 'held';
    // Never written from inside publish: at the earliest by a timer, as any held batch.
    this.#timer = setTimeout(this.#checkHeld, Math.max(1, this.#window.heldFor(this.#dueAt)));
  }

  /** A held batch: written now if its window is over or its messages stopped, else asked again later. */
  readonly #checkHeld = (): void => {
    const wait = this.#window.heldFor(this.#dueAt);
    if (wait === 0) this.flush();
    else this.#timer = setTimeout(this.#checkHeld, wait);
  };

  flush(): void {
    if (this.#current.length === 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = 'none';
    const started = this.scheduler.clock();
    for (const outbox of this.#members) outbox.flush();
    this.#current = new TurnBatch();
    this.#window.flushed(started);
  }
}

/** Told when an outbox passes its limit. */
export interface OverflowListener {
  outboxOverflowed(): void;
}

interface PrivateFrame {
  readonly frame: Buffer;
  /** How many broadcast frames of the current batch came before it. */
  readonly at: number;
}

/**
 * One client's bounded send queue: its own frames (replies, acks) and, while
 * it is in the room, the broadcast batch of its mode, written together in the
 * order they were produced: at the end of a turn with frames of its own, and
 * when the channel flushes. When what is owed plus what the
 * socket still holds passes the limit, the client is a slow consumer:
 * its listener is told (once, on the next tick, so a broadcast in progress is
 * never re-entered) and nothing more is queued.
 */
export class Outbox implements Flushable {
  /** Allocated when used: most idle clients have none. */
  #private: PrivateFrame[] | undefined;
  #privateBytes = 0;
  #channel: BroadcastChannel | undefined;
  /** The batch `#from` and `#skipped` refer to; a new batch starts them over. */
  #batch: TurnBatch | undefined;
  /** First frame of `#batch` still owed to this client. */
  #from = 0;
  /** This client's own frames in `#batch`, which it must not receive. */
  #skipped: number[] | undefined;
  #overflowed = false;
  /** When output started pending, or last made progress; undefined while idle. */
  #waitingSince: number | undefined;

  constructor(
    private readonly sink: OutboxSink,
    private readonly scheduler: FlushScheduler,
    private readonly limitBytes: number,
    private readonly overflow: OverflowListener,
    private readonly now: () => number,
  ) {}

  /** Bytes owed but not yet handed to the kernel. */
  get pendingBytes(): number {
    return this.#privateBytes + this.#owedBroadcastBytes() + this.sink.writableLength;
  }

  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Queues a frame for this client only. */
  push(frame: Buffer): void {
    if (this.#overflowed) return;
    const at = this.#sync()?.length ?? 0;
    this.#private ??= [];
    this.#private.push({ frame, at });
    this.#privateBytes += frame.length;
    if (this.#exceedsLimit()) return;
    if (this.#private.length === 1) this.scheduler.schedule(this);
  }

  /** Called by the channel on join: receive what is published from now on. */
  follow(channel: BroadcastChannel): void {
    this.#channel = channel;
    this.#from = this.#sync()!.length;
  }

  /** Called by the channel on leave. What was owed from this turn's batch is dropped. */
  unfollow(channel: BroadcastChannel): void {
    if (this.#channel !== channel) return;
    this.#channel = undefined;
    this.#batch = undefined;
    this.#skipped = undefined;
  }

  /** Called by the channel: frame `index` of the current batch is this client's own. */
  skip(channel: BroadcastChannel, index: number): void {
    if (this.#channel === channel && this.#sync() !== undefined) (this.#skipped ??= []).push(index);
  }

  /** Writes everything owed now (the scheduler and the channel call this; so does a close). */
  flush(): void {
    if (this.#overflowed) return;
    const batch = this.#sync();
    const to = batch?.length ?? 0;
    if (this.#private === undefined && this.#from >= to) return;
    if (this.#exceedsLimit()) return;

    const pieces: Buffer[] = [];
    let next = this.#from;
    let skipAt = 0;
    // Broadcast frames [next, end), minus this client's own.
    const owe = (end: number): void => {
      if (batch === undefined) return;
      const skipped = this.#skipped;
      while (skipped !== undefined && skipAt < skipped.length && skipped[skipAt]! < end) {
        const own = skipped[skipAt++]!;
        if (own > next) pieces.push(batch.slice(next, own));
        next = Math.max(next, own + 1);
      }
      if (end > next) pieces.push(batch.slice(next, end));
      next = Math.max(next, end);
    };
    for (const { frame, at } of this.#private ?? []) {
      owe(at);
      pieces.push(frame);
    }
    owe(to);

    this.#private = undefined;
    this.#privateBytes = 0;
    this.#from = to;
    this.#skipped = undefined;
    if (pieces.length === 0) return;
    if (this.#waitingSince === undefined) this.#waitingSince = this.now();
    if (pieces.length === 1) {
      this.sink.write(pieces[0]!, this.#written);
      return;
    }
    // Several pieces: one writev, no copy.
    this.sink.cork();
    for (let i = 0; i < pieces.length - 1; i += 1) this.sink.write(pieces[i]!);
    this.sink.write(pieces[pieces.length - 1]!, this.#written);
    this.sink.uncork();
  }

  /** True when output has been pending without progress for longer than `timeoutMs`. */
  stalled(timeoutMs: number): boolean {
    return this.#waitingSince !== undefined && this.sink.writableLength > 0 && this.now() - this.#waitingSince > timeoutMs;
  }

  /** The channel's current batch, starting over when it is a new one. */
  #sync(): TurnBatch | undefined {
    const current = this.#channel?.current;
    if (current !== this.#batch) {
      this.#batch = current;
      this.#from = 0;
      this.#skipped = undefined;
    }
    return current;
  }

  #owedBroadcastBytes(): number {
    const batch = this.#sync();
    if (batch === undefined || this.#from >= batch.length) return 0;
    // Own frames are few; counting them in keeps this O(1) and errs on the safe side.
    return batch.bytes - batch.bytesBefore(this.#from);
  }

  #exceedsLimit(): boolean {
    if (this.limitBytes === 0 || this.pendingBytes <= this.limitBytes) return false;
    this.#overflowed = true;
    this.#private = undefined;
    this.#privateBytes = 0;
    process.nextTick(() => this.overflow.outboxOverflowed());
    return true;
  }

  readonly #written = (error?: Error | null): void => {
    if (error) return;
    this.#waitingSince = this.sink.writableLength > 0 ? this.now() : undefined;
  };
}

