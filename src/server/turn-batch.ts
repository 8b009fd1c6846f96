/**
 * The broadcast frames of one mode produced during one event-loop turn.
 * They are joined into one buffer once, at flush, and every recipient writes
 * that buffer (or slices of it, around its own messages): delivering to a
 * thousand members costs one join, not a thousand copies.
 */
export class TurnBatch {
  readonly #frames: Buffer[] = [];
  /** ends[i]: the offset just past frame i in the joined buffer. */
  readonly #ends: number[] = [];
  #joined: Buffer | undefined;

  get length(): number {
    return this.#frames.length;
  }

  get bytes(): number {
    return this.#ends.length === 0 ? 0 : this.#ends[this.#ends.length - 1]!;
  }

  /** Bytes of the frames before frame `index`. */
  bytesBefore(index: number): number {
    return index === 0 ? 0 : this.#ends[index - 1]!;
  }

  /** Appends a frame; returns its index. */
  add(frame: Buffer): number {
    this.#frames.push(frame);
    this.#ends.push(this.bytes + frame.length);
    this.#joined = undefined;
    return this.#frames.length - 1;
  }

  /** Frames `from` to `to - 1` as one buffer that shares the batch's memory. */
  slice(from: number, to: number): Buffer {
    if (this.#frames.length === 1) return this.#frames[0]!;
    this.#joined ??= Buffer.concat(this.#frames, this.bytes);
    const start = this.bytesBefore(from);
    const end = this.#ends[to - 1]!;
    return start === 0 && end === this.#joined.length ? this.#joined : this.#joined.subarray(start, end);
  }
}
