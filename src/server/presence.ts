import type { ByeReason, LeaveReason } from '../protocol/messages.js';
import { sessionEndEntry, type AuditedSession } from '../store/audit.js';
import type { Room, RoomMember } from './room.js';
import type { SessionEnd } from './session-end-writer.js';

/**
 * A seat's lifecycle: `claimed` (the store row is ours, the client not in the
 * room yet), `in_room`, `leaving` (gone from the room, its end not yet
 * written), `released` (row deleted, end audited).
 */
export type SeatState = 'claimed' | 'in_room' | 'leaving' | 'released';

const TRANSITIONS: Readonly<Record<SeatState, readonly SeatState[]>> = {
  claimed: ['in_room', 'leaving'],
  in_room: ['leaving'],
  leaving: ['released'],
  released: [],
};

/** Why a session ended, as the audit records it. */
export type EndReason = ByeReason | 'disconnected';

const LEAVE_REASON: Partial<Record<EndReason, LeaveReason>> = {
  quit: 'quit',
  timeout: 'timeout',
  kicked: 'kicked',
  removed: 'removed',
  disabled: 'disabled',
};

/** Where ends go to be written (the SessionEndWriter). */
export interface SessionEndSink {
  write(end: SessionEnd, written?: () => void): void;
}

/**
 * Who is online on this server: the one owner of presence. A seat exists from
 * the moment the store row is claimed until its end is written; the room's
 * member list and the store row follow it. Only a seat can give its row back,
 * so a row is released exactly where it was claimed. (The cluster puts this
 * behind an interface; the store row is then the shared view.)
 */
export class Presence {
  readonly #seats = new Map<string, Seat>();
  /** Members in the room here, by lower-cased username (direct messages find their recipient here). */
  readonly #members = new Map<string, RoomMember>();

  constructor(
    readonly room: Room,
    private readonly ends: SessionEndSink,
    private readonly instanceId: string,
    private readonly now: () => number,
  ) {}

  /** Called once the store row is claimed: the only way a seat comes to be. */
  claim(session: Omit<AuditedSession, 'instanceId'>): Seat {
    // Field by field, not a spread: a spread copy got a hidden class (and descriptor array) of its own per seat, about 300 B each.
    const audited: AuditedSession = {
      sessionId: session.sessionId,
      username: session.username,
      peerAddress: session.peerAddress,
      mode: session.mode,
      instanceId: this.instanceId,
      connectedAt: session.connectedAt,
    };
    const seat = new Seat(this, audited);
    this.#seats.set(session.sessionId, seat);
    return seat;
  }

  /**
   * Whether a connection here still holds this session. A row of this server
   * that is not held (its user left and the end is not written yet) may be
   * taken over by the next login of that user.
   */
  holds(sessionId: string): boolean {
    const state = this.#seats.get(sessionId)?.state;
    return state === 'claimed' || state === 'in_room';
  }

  /** Seats not released yet, leaving ones included. */
  get size(): number {
    return this.#seats.size;
  }

  /** Everyone in the room, in the order they joined. */
  usernames(): string[] {
    return this.room.usernames();
  }

  /** The member in the room on this server with this name (any case), if any. */
  member(username: string): RoomMember | undefined {
    return this.#members.get(username.toLowerCase());
  }

  /** @internal Seat transitions report here. */
  joined(member: RoomMember, username: string): void {
    this.#members.set(username.toLowerCase(), member);
    this.room.join(member);
    this.room.publish({ type: 'join', user: username }, member);
  }

  /** @internal `endWritten`: the row is gone and the end audited already (a resume elsewhere took the session over). */
  left(seat: Seat, member: RoomMember | undefined, reason: EndReason, detail: string | undefined, endWritten = false): void {
    if (member !== undefined) {
      const key = seat.session.username.toLowerCase();
      if (this.#members.get(key) === member) this.#members.delete(key);
      this.room.leave(member);
      // At shutdown everyone leaves at once: each client gets its own goodbye, not a line for every other user.
      if (reason !== 'shutdown') this.room.publish({ type: 'leave', user: seat.session.username, reason: LEAVE_REASON[reason] ?? 'disconnected' }, member);
    }
    if (endWritten) {
      seat.released();
      if (this.#seats.get(seat.session.sessionId) === seat) this.#seats.delete(seat.session.sessionId);
      return;
    }
    const end = {
      sessionId: seat.session.sessionId,
      connectedAt: new Date(seat.session.connectedAt).toISOString(),
      audit: sessionEndEntry(seat.session, reason, this.now(), detail ?? null),
    };
    this.ends.write(end, () => {
      seat.released();
      if (this.#seats.get(seat.session.sessionId) === seat) this.#seats.delete(seat.session.sessionId);
    });
  }
}

export class IllegalSeatTransitionError extends Error {
  override readonly name = 'IllegalSeatTransitionError';
  readonly code = 'ILLEGAL_SEAT_TRANSITION';
  constructor(from: SeatState, to: SeatState) {
    super(`seat cannot go from ${from} to ${to}`);
  }
}

/** One user's presence on this server, from claim to release. */
export class Seat {
  #state: SeatState = 'claimed';
  #member: RoomMember | undefined;

  constructor(
    private readonly presence: Presence,
    readonly session: AuditedSession,
  ) {}

  get state(): SeatState {
    return this.#state;
  }

  /** Into the room: the others hear a join. */
  enter(member: RoomMember): void {
    this.#move('in_room');
    this.#member = member;
    this.presence.joined(member, this.session.username);
  }

  /**
   * Out of the room (the others hear why), and the end queued for the store
   * (unless `endWritten`: another instance's resume released the row and
   * audited the end). Later calls do nothing.
   */
  leave(reason: EndReason, detail?: string, endWritten = false): void {
    if (this.#state === 'leaving' || this.#state === 'released') return;
    this.#move('leaving');
    const member = this.#member;
    this.#member = undefined;
    this.presence.left(this, member, reason, detail, endWritten);
  }

  /** @internal The end is written. */
  released(): void {
    this.#move('released');
  }

  #move(next: SeatState): void {
    if (!TRANSITIONS[this.#state].includes(next)) throw new IllegalSeatTransitionError(this.#state, next);
    this.#state = next;
  }
}
