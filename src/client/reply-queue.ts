import type { ServerMessage } from '../protocol/messages.js';
import { sanitizeText } from '../protocol/sanitize.js';

/** A request sent and not answered yet. */
/** A `say`, or with `to` a direct message (`dm`), which the server answers the same way. */
export type Awaiting = { readonly kind: 'say'; readonly id: string; readonly text: string; readonly to?: string } | { readonly kind: 'who' };

/** What a server message settled: the request it answers, and how. */
export type Settled =
  | { readonly request: Awaiting; readonly outcome: 'done' }
  | { readonly request: Awaiting; readonly outcome: 'refused'; readonly reason: string; readonly code?: string };

/**
 * Matches the server's replies to what this client sent. The server handles
 * a connection's lines one at a time, in order, and answers each `say` with
 * an `id` by exactly one `ack` (with that id) or one `error` (without an id),
 * and each `who` by a `who` or an `error`. So an `ack` settles its own line,
 * and an `error` settles the oldest request still waiting.
 */
export class ReplyQueue {
  #waiting: Awaiting[] = [];
  #nextId = 1;

  /** Records a `say` about to be sent; returns the request with its new id. */
  say(text: string, to?: string): Extract<Awaiting, { kind: 'say' }> {
    const request = { kind: 'say' as const, id: String(this.#nextId++), text, ...(to === undefined ? {} : { to }) };
    this.#waiting.push(request);
    return request;
  }

  /** Forgets a `say` that could not be sent after all. */
  cancel(id: string): void {
    this.#waiting = this.#waiting.filter((r) => r.kind !== 'say' || r.id !== id);
  }

  who(): void {
    this.#waiting.push({ kind: 'who' });
  }

  /** The request `message` answers, or undefined when it answers none of ours. */
  settle(message: ServerMessage): Settled | undefined {
    if (message.type === 'ack') {
      const index = this.#waiting.findIndex((r) => r.kind === 'say' && r.id === message.id);
      return index < 0 ? undefined : { request: this.#take(index), outcome: 'done' };
    }
    if (message.type === 'who') {
      const index = this.#waiting.findIndex((r) => r.kind === 'who');
      return index < 0 ? undefined : { request: this.#take(index), outcome: 'done' };
    }
    if (message.type === 'error' && this.#waiting.length > 0) {
      const reason = typeof message.message === 'string' && message.message.trim() !== '' ? sanitizeText(message.message) : sanitizeText(String(message.code));
      return { request: this.#take(0), outcome: 'refused', reason, code: sanitizeText(String(message.code)) };
    }
    return undefined;
  }

  /** The lines sent and not acknowledged yet, oldest first. */
  get pendingSays(): readonly Extract<Awaiting, { kind: 'say' }>[] {
    return this.#waiting.filter((r): r is Extract<Awaiting, { kind: 'say' }> => r.kind === 'say');
  }

  /** Forgets everything still waiting (the connection ended) and returns the unacknowledged lines. */
  drainSays(): Extract<Awaiting, { kind: 'say' }>[] {
    const says = [...this.pendingSays];
    this.#waiting = [];
    return says;
  }

  #take(index: number): Awaiting {
    const [request] = this.#waiting.splice(index, 1);
    return request!;
  }
}
