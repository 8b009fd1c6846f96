import type { BusHandler, BusLog } from './bus.js';
import { decodeBusMessage } from './codec.js';

/** One entry as read from the bus, in the bus's order. */
export interface BusEntry {
  /** The instance id of the sender. */
  origin: string;
  /** Random per bus object: sequence numbers restart with each, so an instance id used again is not taken for copies. */
  incarnation: string;
  seq: number;
  /** The instance it is addressed to; undefined for all. */
  to: string | undefined;
  body: string;
}

/**
 * The receiving side, the same for every bus: skips this instance's own
 * entries and those addressed elsewhere, skips copies (an entry whose
 * sequence number is not above the last one seen from its origin), counts
 * gaps as lost, and hands the rest to the subscribers in order.
 */
export class Inbound {
  delivered = 0;
  lost = 0;
  duplicates = 0;
  malformed = 0;
  readonly #selfId: string;
  readonly #log: BusLog;
  readonly #maxOrigins: number;
  /** Last sequence number seen per origin and incarnation, least recently heard first. */
  readonly #lastSeq = new Map<string, number>();
  readonly #handlers: BusHandler[] = [];

  /** `maxOrigins` bounds what is remembered: instances come and go, and a forgotten one is simply new if heard again. */
  constructor(selfId: string, log: BusLog, maxOrigins = 10_000) {
    this.#selfId = selfId;
    this.#log = log;
    this.#maxOrigins = maxOrigins;
  }

  subscribe(handler: BusHandler): () => void {
    this.#handlers.push(handler);
    return () => {
      const at = this.#handlers.indexOf(handler);
      if (at >= 0) this.#handlers.splice(at, 1);
    };
  }

  receive(entry: BusEntry): void {
    if (entry.origin === this.#selfId) return;
    const sender = `${entry.origin}/${entry.incarnation}`;
    const last = this.#lastSeq.get(sender);
    if (last !== undefined && entry.seq <= last) {
      this.duplicates += 1;
      return;
    }
    if (last !== undefined && entry.seq > last + 1) {
      const missing = entry.seq - last - 1;
      this.lost += missing;
      this.#log.error('bus_lost', { origin: entry.origin, count: missing, total: this.lost });
    }
    this.#remember(sender, entry.seq);
    if (entry.to !== undefined && entry.to !== this.#selfId) return;
    const message = decodeBusMessage(entry.body);
    if (message === undefined) {
      this.skipMalformed(`body of ${entry.origin} #${entry.seq}`);
      return;
    }
    this.delivered += 1;
    for (const handler of this.#handlers.slice()) {
      try {
        handler(message, entry.origin);
      } catch (error) {
        this.#log.error('bus_handler_error', { type: message.type, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  /** Counts (and logs) an entry that is not a bus message. */
  skipMalformed(what: string): void {
    this.malformed += 1;
    this.#log.error('bus_malformed', { what, total: this.malformed });
  }

  #remember(sender: string, seq: number): void {
    this.#lastSeq.delete(sender);
    this.#lastSeq.set(sender, seq);
    if (this.#lastSeq.size > this.#maxOrigins) this.#lastSeq.delete(this.#lastSeq.keys().next().value!);
  }
}
