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
  /**
   * Instances found dead: their room events are ignored until they speak up
   * with `presence` (an instance that was only stalled, cleared by the others,
   * says so when it finds out), so that what it said meanwhile is not heard
   * after its users were told gone.
   */
  readonly #forgotten = new Set<string>();
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
    // One live session per user: one that joins here (a login or resume after its instance died) is nowhere else any more.
    this.#moveOut(member.username, undefined);
    this.#local.join(member);
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

  /** Tells every other instance who is in the room here (after this instance was taken for dead and came back). */
  sharePresence(): void {
    this.#bus.publish({ type: 'presence', users: this.#local.usernames() });
  }

  /** Where `username` is in the room: `here`, another instance's id, or undefined (not in the room). For routing to one user. */
  locate(username: string): string | undefined {
    // Usernames are one user in any case (PROTOCOL.md): `RON` finds ron.
    const key = username.toLowerCase();
    const named = (users: readonly string[]): boolean => users.some((user) => user.toLowerCase() === key);
    if (named(this.#local.usernames())) return 'here';
    for (const [origin, users] of this.#remote) if (named(users)) return origin;
    return undefined;
  }

  /** The other instances heard from that have members in the room. */
  remoteInstances(): string[] {
    return [...this.#remote.keys()];
  }

  /**
   * An instance that is gone without a word (killed, cut off): its users
   * leave, for the members here, with reason `disconnected`, and what it
   * still says is ignored until it speaks up with `presence`. Returns them.
   */
  forgetInstance(instanceId: string): string[] {
    this.#forgotten.add(instanceId);
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
        if (this.#forgotten.has(origin)) return;
        this.#track(message.event, origin);
        this.#local.publish(message.event);
        return;
      case 'presence_request':
        this.#bus.publish({ type: 'presence', users: this.#local.usernames() }, { to: origin });
        return;
      case 'presence':
        this.#forgotten.delete(origin);
        this.#replace(origin, message.users);
        return;
      default:
        // Direct messages and session ends are not the room's business.
        return;
    }
  }

  #track(event: BusRoomEvent, origin: string): void {
    if (event.type === 'message') return;
    if (event.type === 'join') this.#moveOut(event.user, origin);
    const users = (this.#remote.get(origin) ?? []).filter((user) => user !== event.user);
    if (event.type === 'join') users.push(event.user);
    if (users.length === 0) this.#remote.delete(origin);
    else this.#remote.set(origin, users);
  }

  /**
   * One session per user in the cluster: a user joining on one instance is no
   * longer on any other (a login or resume there after the first instance
   * died, before it is known to be gone here). Members here hear the leave
   * first, so that what they see reads as a leave then a join, and a dead
   * instance forgotten later announces nothing more; `who` lists them once.
   */
  #moveOut(user: string, to: string | undefined): void {
    const key = user.toLowerCase();
    for (const [origin, users] of this.#remote) {
      if (origin === to) continue;
      const rest = users.filter((name) => name.toLowerCase() !== key);
      if (rest.length === users.length) continue;
      if (rest.length === 0) this.#remote.delete(origin);
      else this.#remote.set(origin, rest);
      this.#local.publish({ type: 'leave', user, reason: 'disconnected' });
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
