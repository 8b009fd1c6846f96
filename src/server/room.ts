import { encodeJsonEvent } from '../protocol/json-codec.js';
import type { ChatMessage, Join, Leave } from '../protocol/messages.js';
import { encodeTextEvent } from '../protocol/text-codec.js';

export type RoomEvent = ChatMessage | Join | Leave;
export type WireMode = 'text' | 'json';

/** Someone in the room: receives frames already encoded for its mode. */
export interface RoomMember {
  readonly username: string;
  readonly mode: WireMode;
  deliver(frame: Buffer): void;
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
  usernames(): string[];
  readonly size: number;
}

/**
 * Broadcasts within one process. Each event is encoded at most once per mode
 * and the same buffer goes to every member, iterating a snapshot so members
 * joining or leaving during a broadcast change nothing underway.
 */
export class LocalRoom implements Room {
  readonly #members = new Set<RoomMember>();
  #snapshot: readonly RoomMember[] = [];

  get size(): number {
    return this.#members.size;
  }

  join(member: RoomMember): void {
    this.#members.add(member);
    this.#snapshot = [...this.#members];
  }

  leave(member: RoomMember): void {
    if (this.#members.delete(member)) this.#snapshot = [...this.#members];
  }

  publish(event: RoomEvent, from?: RoomMember): void {
    let text: Buffer | undefined;
    let json: Buffer | undefined;
    for (const member of this.#snapshot) {
      if (member === from) continue;
      if (member.mode === 'json') member.deliver((json ??= Buffer.from(encodeJsonEvent(event)!, 'utf8')));
      else member.deliver((text ??= Buffer.from(encodeTextEvent(event)!, 'utf8')));
    }
  }

  usernames(): string[] {
    return this.#snapshot.map((member) => member.username);
  }
}
