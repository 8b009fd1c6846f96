import type { Bus, BusChatMessage, BusMessage, SessionEndKind } from '../bus/bus.js';
import { BusRoom } from './bus-room.js';
import type { Logger } from './log.js';
import type { Room } from './room.js';
import type { Sweep } from './instance-registry.js';

/** An admin's request, over the bus, to end one session held here. */
export interface SessionEndRequest {
  username: string;
  sessionId?: string;
  kind: SessionEndKind;
  note?: string;
}

/**
 * What one instance does as part of a cluster (docs/cluster.md): the room
 * across instances, who is where, session ends asked for over the bus, and
 * forgetting instances found dead. Without a bus it is the single server:
 * the local room, and nothing to tell anyone.
 */
export class Cluster {
  readonly room: Room;
  /** The bus, for messages addressed to one instance (direct messages); undefined without one. */
  readonly bus: Bus | undefined;
  readonly #busRoom: BusRoom | undefined;
  readonly #logger: Logger;

  constructor(local: Room, bus: Bus | undefined, nextId: () => string, logger: Logger) {
    this.bus = bus;
    this.#logger = logger;
    this.#busRoom = bus === undefined ? undefined : new BusRoom(local, bus, nextId);
    this.room = this.#busRoom ?? local;
  }

  /** Connects the bus; rejects (a BusError) when it cannot be reached. */
  async start(): Promise<void> {
    await this.bus?.start();
  }

  /** Once this instance is registered: asks the others who is in the room there. */
  announce(): void {
    this.#busRoom?.announce();
  }

  /** Calls `handler` for every `end_session` addressed to this instance. Returns an unsubscribe function. */
  onSessionEnd(handler: (request: SessionEndRequest) => void): () => void {
    if (this.bus === undefined) return () => undefined;
    return this.bus.subscribe((message: BusMessage) => {
      if (message.type === 'end_session') handler(message);
    });
  }

  /** Calls `handler` for every room message said on another instance (recent history keeps them for replays). Returns an unsubscribe function. */
  onRemoteMessage(handler: (message: BusChatMessage) => void): () => void {
    if (this.bus === undefined) return () => undefined;
    return this.bus.subscribe((message: BusMessage) => {
      if (message.type === 'room' && message.event.type === 'message') handler(message.event);
    });
  }

  /**
   * Where `username` is in the room: `here`, the id of the instance holding
   * the session (address a bus message to it), or undefined.
   */
  locate(username: string): string | undefined {
    if (this.#busRoom !== undefined) return this.#busRoom.locate(username);
    return this.room.usernames().includes(username) ? 'here' : undefined;
  }

  /** The instances heard from: taken before a read of the instances table, for `afterSweep`. */
  heardFrom(): Set<string> {
    return new Set(this.#busRoom?.remoteInstances() ?? []);
  }

  /**
   * After a read of the instances table: an instance it found dead, or one
   * heard from before the read began and no longer in the table (another
   * instance cleared it), is gone: its users leave for the members here.
   * (One heard from only during the read may have registered after it.)
   */
  afterSweep(sweep: Sweep, heardBefore: ReadonlySet<string>): void {
    if (this.#busRoom === undefined) return;
    const gone = new Set(sweep.reaped);
    for (const id of heardBefore) if (!sweep.present.has(id)) gone.add(id);
    for (const id of gone) {
      const users = this.#busRoom.forgetInstance(id);
      if (users.length > 0) this.#logger.info('instance_gone', { instance: id, users: users.join(',') });
    }
  }

  /** This instance was taken for dead and is registered again: tells the others who is here now. */
  rejoined(): void {
    this.#busRoom?.sharePresence();
  }

  /** At shutdown, after the members left: tells the others no one is here, sends what is buffered (bounded), disconnects. */
  async close(): Promise<void> {
    this.#busRoom?.close();
    await this.bus?.close();
  }
}
