/** What one `push` found: a complete line, or a line that broke the length limit. */
export type SplitEvent = { readonly kind: 'line'; readonly line: string } | { readonly kind: 'too_long' };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits a byte stream into `\n`-terminated UTF-8 lines, socket-free.
 *
 * It never holds more than `maxLineBytes + 1` bytes of an unfinished line (the
 * extra byte is a `\r` that may precede the `\n`). A longer line is reported
 * once as `too_long` as soon as it is known, and its bytes are dropped up to
 * the next `\n`. Lines are split on bytes and decoded whole, so a multi-byte
 * character split across pushes survives; invalid UTF-8 becomes U+FFFD.
 */
export class LineSplitter {
  /** The unfinished line's pieces; allocated only while there is one. */
  #parts: Buffer[] | undefined;
  #size = 0;
  #discarding = false;
  /** A visitor said stop: nothing more is split. */
  #stopped = false;
  #maxLineBytes: number;

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }

  /** Changes the limit for lines not yet complete (a server allows longer lines after login). */
  setMaxLineBytes(maxLineBytes: number): void {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Bytes held for the unfinished line. */
  get bufferedBytes(): number {
    return this.#size;
  }

  push(chunk: Buffer): SplitEvent[] {
    const events: SplitEvent[] = [];
    this.each(chunk, (event) => {
      events.push(event);
    });
    return events;
  }

  /**
   * Hands each event of `chunk` to `visit` as it is found. A visitor that
   * returns false stops the splitter for good: the rest of this chunk and
   * every later one are dropped without being looked at (the reader is
   * closing, and a flooder's megabytes must not be decoded for nothing).
   */
  each(chunk: Buffer, visit: (event: SplitEvent) => boolean | void): void {
    if (this.#stopped) return;
    const stop = (event: SplitEvent): boolean => {
      if (visit(event) !== false) return false;
      this.#stopped = true;
      this.#reset();
      return true;
    };
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) break;
      if (this.#discarding) {
        this.#discarding = false;
      } else {
        const event = this.#complete(chunk, start, newline);
        if (event !== undefined && stop(event)) return;
      }
      start = newline + 1;
    }
    if (start < chunk.length && !this.#discarding) {
      const tail = chunk.length - start;
      if (this.#size + tail > this.#maxLineBytes + 1) {
        this.#reset();
        this.#discarding = true;
        stop({ kind: 'too_long' });
      } else {
        // Copy: a slice would pin the whole (often 64 KiB) socket chunk in memory.
        (this.#parts ??= []).push(Buffer.from(chunk.subarray(start)));
        this.#size += tail;
      }
    }
  }

  #complete(chunk: Buffer, start: number, end: number): SplitEvent | undefined {
    let bytes: Buffer;
    if (this.#parts === undefined) {
      bytes = chunk.subarray(start, end);
    } else {
      this.#parts.push(chunk.subarray(start, end));
      bytes = Buffer.concat(this.#parts, this.#size + (end - start));
      this.#reset();
    }
    let length = bytes.length;
    if (length > 0 && bytes[length - 1] === CARRIAGE_RETURN) length -= 1;
    if (length > this.#maxLineBytes) return { kind: 'too_long' };
    return { kind: 'line', line: bytes.toString('utf8', 0, length) };
  }

  #reset(): void {
    this.#parts = undefined;
    this.#size = 0;
  }
}
