import { Outbox, type FlushScheduler } from '../../src/server/outbox.js';
import type { RoomMember, WireMode } from '../../src/server/room.js';
import { FakeSink } from './fake-sink.js';

/** A room member writing into a FakeSink, for room tests without sockets. */
export class FakeMember implements RoomMember {
  readonly sink = new FakeSink();
  readonly outbox: Outbox;
  constructor(
    readonly username: string,
    readonly mode: WireMode,
    scheduler: FlushScheduler,
    limit = 0,
    onOverflow: () => void = () => undefined,
  ) {
    this.outbox = new Outbox(this.sink, scheduler, limit, { outboxOverflowed: onOverflow }, () => 0);
  }

  /** Every complete line written so far. */
  get lines(): string[] {
    return this.sink.writes.join('').split('\n').filter((line) => line !== '');
  }
}
