/**
 * Message ids (PROTOCOL.md, "Message ids"): `TTTTTTTTTSSS-NNNN…`, where
 * `T` is the server time in milliseconds since the epoch and `S` a sequence
 * within that millisecond, both fixed-width lowercase base 36 (digits sort
 * before letters in ASCII, so string order is numeric order), and `N` the
 * instance tag that makes ids from different instances distinct: the first
 * 16 letters and digits of the instance id, lowercased (instance ids are
 * random UUIDs, so that is 60 random bits).
 * This module imports nothing.
 */

const TIME_WIDTH = 9; // 36^9 ms reaches the year 5188
const SEQUENCE_WIDTH = 3;
const SEQUENCES_PER_MS = 36 ** SEQUENCE_WIDTH; // 46656
const MAX_TIME = 36 ** TIME_WIDTH - 1;
const TAG_LENGTH = 16;

/**
 * Hands out ids for one instance. Ids only grow: when the wall clock steps
 * back, ids keep the last time used and count on in its sequence; when a
 * millisecond's sequence is used up, the next id takes the next millisecond.
 * So the time in an id may run ahead of the clock for a while, never behind
 * an earlier id of the same instance.
 */
export class MessageIdGenerator {
  readonly #tag: string;
  readonly #now: () => number;
  #lastTime = -1;
  #sequence = 0;

  /** `instanceId`: unique per running instance (it needs at least one letter or digit). `now`: milliseconds since the epoch. */
  constructor(instanceId: string, now: () => number = Date.now) {
    this.#tag = instanceId.toLowerCase().replace(/[^0-9a-z]/g, '').slice(0, TAG_LENGTH);
    if (this.#tag === '') throw new RangeError(`instance id ${JSON.stringify(instanceId)} has no letter or digit for a message id`);
    this.#now = now;
  }

  next(): string {
    const now = Math.min(Math.max(0, Math.floor(this.#now())), MAX_TIME);
    if (now > this.#lastTime) {
      this.#lastTime = now;
      this.#sequence = 0;
    } else if (++this.#sequence === SEQUENCES_PER_MS) {
      this.#lastTime += 1;
      this.#sequence = 0;
    }
    return `${this.#lastTime.toString(36).padStart(TIME_WIDTH, '0')}${this.#sequence.toString(36).padStart(SEQUENCE_WIDTH, '0')}-${this.#tag}`;
  }
}
