import type { Bus, BusMessage } from '../bus/bus.js';
import { encodeJsonEvent } from '../protocol/json-codec.js';
import type { DirectMessage } from '../protocol/messages.js';
import { encodeTextEvent } from '../protocol/text-codec.js';
import type { RoomMember } from './room.js';
import type { DirectOutcome } from './session.js';

/**
 * Where direct messages go (PROTOCOL.md "Direct messages"): to the session
 * of `to`, wherever it lives. Never stored, never shown to anyone else.
 */
export interface DirectMessages {
  /** `done` is called exactly once: `delivered` once the message was handed to the recipient's session. */
  send(to: string, message: DirectMessage, done: (outcome: DirectOutcome) => void): void;
  /** At shutdown: whatever still waits is answered `not_online`. */
  close(): void;
}

/** The session of a user in the room on this instance (Presence.member), if any. */
export type FindMember = (username: string) => RoomMember | undefined;

/** Hands a direct message to a member's outbox, encoded for its mode; false when that outbox is already given up (a slow consumer). */
export function deliverDirect(member: RoomMember, message: DirectMessage): boolean {
  if (member.outbox.overflowed) return false;
  const line = member.mode === 'json' ? encodeJsonEvent(message) : encodeTextEvent(message);
  member.outbox.push(Buffer.from(line!, 'utf8'));
  return true;
}

/**
 * Direct messages within this instance. An unknown name and a user who is
 * not logged in are the same map miss: the same answer in the same time.
 */
export class LocalDirectMessages implements DirectMessages {
  constructor(private readonly find: FindMember) {}

  send(to: string, message: DirectMessage, done: (outcome: DirectOutcome) => void): void {
    const member = this.find(to);
    done(member !== undefined && deliverDirect(member, message) ? 'delivered' : 'not_online');
  }

  close(): void {}
}

/** How long a direct message to another instance waits for its receipt before the sender is told `not_online`. */
export const DM_RECEIPT_TIMEOUT_MS = 3000;
/** Direct messages to other instances waiting for their receipt, at most; past it the sender is told `not_online` at once. */
const MAX_IN_FLIGHT = 10_000;

/**
 * Direct messages across the instances of a cluster (docs/cluster.md): a
 * recipient here gets it at once; one on another instance (as the room's
 * presence knows, `locate`) gets it through the bus, addressed to that
 * instance only, which hands it to the session and answers with a
 * `dm_receipt`. No receipt within DM_RECEIPT_TIMEOUT_MS is `not_online`. A
 * name nobody has and a user logged in nowhere are the same miss, here, at once.
 */
export class ClusterDirectMessages implements DirectMessages {
  readonly #pending = new Map<string, { done: (outcome: DirectOutcome) => void; timer: NodeJS.Timeout }>();
  readonly #unsubscribe: () => void;

  constructor(
    private readonly find: FindMember,
    private readonly bus: Bus,
    /** The instance holding `username`'s session: 'here', another instance's id, or undefined. */
    private readonly locate: (username: string) => string | undefined,
    private readonly timeoutMs = DM_RECEIPT_TIMEOUT_MS,
  ) {
    this.#unsubscribe = bus.subscribe((message, origin) => this.#fromBus(message, origin));
  }

  send(to: string, message: DirectMessage, done: (outcome: DirectOutcome) => void): void {
    const member = this.find(to);
    if (member !== undefined) {
      done(deliverDirect(member, message) ? 'delivered' : 'not_online');
      return;
    }
    const where = this.locate(to);
    if (where === undefined || where === 'here' || this.#pending.size >= MAX_IN_FLIGHT) {
      done('not_online');
      return;
    }
    if (!this.bus.publish({ type: 'dm', to, id: message.id, from: message.from, text: message.text, ts: message.ts }, { to: where })) {
      done('not_online');
      return;
    }
    const timer = setTimeout(() => this.#settle(message.id, 'not_online'), this.timeoutMs);
    timer.unref();
    this.#pending.set(message.id, { done, timer });
  }

  /** Answers every direct message still waiting with `not_online`, and stops listening (at shutdown). */
  close(): void {
    this.#unsubscribe();
    for (const id of [...this.#pending.keys()]) this.#settle(id, 'not_online');
  }

  #fromBus(message: BusMessage, origin: string): void {
    if (message.type === 'dm') {
      const member = this.find(message.to);
      const delivered = member !== undefined && deliverDirect(member, { type: 'dm', from: message.from, text: message.text, ts: message.ts, id: message.id });
      this.bus.publish({ type: 'dm_receipt', id: message.id, to: message.to, delivered }, { to: origin });
    } else if (message.type === 'dm_receipt') {
      this.#settle(message.id, message.delivered ? 'delivered' : 'not_online');
    }
  }

  #settle(id: string, outcome: DirectOutcome): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.done(outcome);
  }
}
