import type { OutboxSink } from '../../src/server/outbox.js';

/**
 * A socket stand-in for Outbox tests: records each write as the kernel would
 * see it (writes made while corked arrive as one writev on uncork) and keeps
 * the chunks themselves, so tests can check buffers are shared, not copied.
 */
export class FakeSink implements OutboxSink {
  /** One entry per syscall: the chunks of one write or one writev. */
  syscalls: Buffer[][] = [];
  callbacks: ((error?: Error | null) => void)[] = [];
  writableLength = 0;
  #corked: Buffer[] | undefined;

  write(chunk: Buffer, callback?: (error?: Error | null) => void): boolean {
    if (callback !== undefined) this.callbacks.push(callback);
    if (this.#corked !== undefined) this.#corked.push(chunk);
    else this.syscalls.push([chunk]);
    return true;
  }

  cork(): void {
    this.#corked ??= [];
  }

  uncork(): void {
    if (this.#corked !== undefined && this.#corked.length > 0) this.syscalls.push(this.#corked);
    this.#corked = undefined;
  }

  /** What each syscall carried, joined, as text. */
  get writes(): string[] {
    return this.syscalls.map((chunks) => Buffer.concat(chunks).toString('utf8'));
  }

  get text(): string {
    return this.writes.join('');
  }
}

export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
