import { encodeJsonEvent } from '../protocol/json-codec.js';
import type { ChatMessage, Join, Leave } from '../protocol/messages.js';
import { encodeTextEvent } from '../protocol/text-codec.js';
import { BroadcastChannel, type FlushScheduler, type Outbox } from './outbox.js';

export type RoomEvent = ChatMessage | Join | Leave;
export type WireMode = 'text' | 'json';

/** Someone in the room: receives, through its outbox, frames already encoded for its mode. */
export interface RoomMember {
  readonly username: string;
  readonly mode: WireMode;
  readonly outbox: Outbox;
}

/**
 * The fan-out seam. This process's room is `LocalRoom`; running several
 * servers means an adapter that also publishes to, and delivers from, a
 * message bus, with the same methods.
 */
export interface Room {
  join(member: RoomMember): void;
  leave(member: RoomMember): void;
  /** Sends to every member except `from`. */
  publish(event: RoomEvent, from?: RoomMember): void;
  /** Everyone in the room, in the order they joined. */
  usernames(): string[];
  readonly size: number;
}

const ENCODERS: Readonly<Record<WireMode, (event: RoomEvent) => string>> = {
  text: (event) => encodeTextEvent(event)!,
  json: (event) => encodeJsonEvent(event)!,
};

/**
 * Broadcasts within one process. Each event is encoded once per mode into
 * that mode's channel; at the end of the turn every member writes the
 * channel's joined batch, so the cost per member is one write per turn, not
 * one copy per message.
 */
export class LocalRoom implements Room {
  readonly #members = new Map<RoomMember, WireMode>();
  readonly #channels: Readonly<Record<WireMode, BroadcastChannel>>;
  #usernames: string[] | undefined;

  constructor(scheduler: FlushScheduler) {
    this.#channels = { text: new BroadcastChannel(scheduler), json: new BroadcastChannel(scheduler) };
  }

  get size(): number {
    return this.#members.size;
  }

  join(member: RoomMember): void {
    if (this.#members.has(member)) return;
    // The mode is read once: it cannot change after login.
    this.#members.set(member, member.mode);
    this.#channels[member.mode].add(member.outbox);
    this.#usernames = undefined;
  }

  leave(member: RoomMember): void {
    const mode = this.#members.get(member);
    if (mode === undefined) return;
    this.#members.delete(member);
    this.#channels[mode].remove(member.outbox);
    this.#usernames = undefined;
  }

  publish(event: RoomEvent, from?: RoomMember): void {
    const fromMode = from === undefined ? undefined : this.#members.get(from);
    for (const mode of ['text', 'json'] as const) {
      const channel = this.#channels[mode];
      const audience = channel.size - (fromMode === mode ? 1 : 0);
      if (audience <= 0) continue;
      channel.publish(Buffer.from(ENCODERS[mode](event), 'utf8'), fromMode === mode ? from!.outbox : undefined, event.type !== 'message');
    }
  }

  usernames(): string[] {
    this.#usernames ??= [...this.#members.keys()].map((member) => member.username);
    return this.#usernames.slice();
  }
}
