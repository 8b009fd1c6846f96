import type { Bus, BusMessage, BusRoomEvent } from '../bus/bus.js';
import type { Room, RoomEvent, RoomMember } from './room.js';

/**
 * The room across instances: this instance's members stay in a local room;
 * what is published here goes to them and, through the bus, to every other
 * instance, whose events come back into the local room. `usernames` lists
 * the whole cluster: this instance's members, then those of the others as
 * their joins, leaves and presence answers tell. `size` counts members here.
 */
export class BusRoom implements Room {
  readonly #local: Room;
  readonly #bus: Bus;
  readonly #nextId: () => string;
  /** Who is in the room on each other instance, in the order heard. */
  readonly #remote = new Map<string, string[]>();
  readonly #unsubscribe: () => void;

  /** `nextId` gives a message its id (PROTOCOL.md "Message ids") when it comes without one. */
  constructor(local: Room, bus: Bus, nextId: () => string) {
    this.#local = local;
    this.#bus = bus;
    this.#nextId = nextId;
    this.#unsubscribe = bus.subscribe((message, origin) => this.#fromBus(message, origin));
  }

  get size(): number {
    return this.#local.size;
  }

  /** Asks the other instances who is in the room there; call once the bus has started. */
  announce(): void {
    this.#bus.publish({ type: 'presence_request' });
  }

  join(member: RoomMember): void {
    this.#local.join(member);
    // One live session per user: one that joins here (a resume after its instance died) is nowhere else any more.
    this.#forgetElsewhere(member.username, undefined);
  }

  leave(member: RoomMember): void {
    this.#local.leave(member);
  }

  publish(event: RoomEvent, from?: RoomMember): void {
    const shared: BusRoomEvent = event.type === 'message' ? { ...event, id: (event as { id?: string }).id ?? this.#nextId() } : event;
    this.#local.publish(shared, from);
    this.#bus.publish({ type: 'room', event: shared });
  }

  usernames(): string[] {
    const all = this.#local.usernames();
    for (const users of this.#remote.values()) all.push(...users);
    return all;
  }

  /**
   * An instance that is gone without a word (killed, cut off): its users
   * leave, for the members here, with reason `disconnected`. Returns them.
   */
  forgetInstance(instanceId: string): string[] {
    return this.#replace(instanceId, []);
  }

  /** Tells the other instances that no one is here any more (at shutdown, after the members left); stops listening. */
  close(): void {
    this.#unsubscribe();
    this.#bus.publish({ type: 'presence', users: [] });
  }

  #fromBus(message: BusMessage, origin: string): void {
    switch (message.type) {
      case 'room':
        this.#track(message.event, origin);
        this.#local.publish(message.event);
        return;
      case 'presence_request':
        this.#bus.publish({ type: 'presence', users: this.#local.usernames() }, { to: origin });
        return;
      case 'presence':
        this.#replace(origin, message.users);
        return;
      default:
        // Direct messages and session ends are not the room's business.
        return;
    }
  }

  #track(event: BusRoomEvent, origin: string): void {
    if (event.type === 'message') return;
    const users = (this.#remote.get(origin) ?? []).filter((user) => user !== event.user);
    if (event.type === 'join') {
      users.push(event.user);
      this.#forgetElsewhere(event.user, origin);
    }
    if (users.length === 0) this.#remote.delete(origin);
    else this.#remote.set(origin, users);
  }

  /**
   * Drops `user` from every other instance's list, without a leave: the user
   * is here (or on `origin`) now, so a dead instance forgotten later does not
   * announce that they left, and `who` lists them once.
   */
  #forgetElsewhere(user: string, origin: string | undefined): void {
    const key = user.toLowerCase();
    for (const [other, users] of this.#remote) {
      if (other === origin) continue;
      const kept = users.filter((name) => name.toLowerCase() !== key);
      if (kept.length === users.length) continue;
      if (kept.length === 0) this.#remote.delete(other);
      else this.#remote.set(other, kept);
    }
  }

  /** Takes `users` as everyone on `origin`; those no longer there leave for the members here. */
  #replace(origin: string, users: readonly string[]): string[] {
    const gone = (this.#remote.get(origin) ?? []).filter((user) => !users.includes(user));
    if (users.length === 0) this.#remote.delete(origin);
    else this.#remote.set(origin, [...users]);
    for (const user of gone) this.#local.publish({ type: 'leave', user, reason: 'disconnected' });
    return gone;
  }
}
