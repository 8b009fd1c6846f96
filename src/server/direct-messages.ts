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
}
