import type { ChatMessage, Join, Leave } from '../protocol/messages.js';

/** A room message as it travels between instances: with the id the sending instance gave it. */
export interface BusChatMessage extends ChatMessage {
  id: string;
}
export type BusRoomEvent = BusChatMessage | Join | Leave;

/** Why an admin ends a session (chat-admin kick, user remove, user disable). */
export type SessionEndKind = 'kicked' | 'removed' | 'disabled';

/** What instances tell each other. */
export type BusMessage =
  /** For every member of the room on every other instance. */
  | { type: 'room'; event: BusRoomEvent }
  /** A direct message for `to`, handed over by the instance that holds `to`'s session. */
  | { type: 'dm'; to: string; id: string; from: string; text: string; ts: string }
  /** The answer to a `dm`, addressed to the instance that sent it: handed over or not online. */
  | { type: 'dm_receipt'; id: string; to: string; delivered: boolean }
  /** End `username`'s session (the one with `sessionId`, when given) on the instance it is addressed to. */
  | { type: 'end_session'; username: string; sessionId?: string; kind: SessionEndKind; note?: string }
  /** A starting instance asks who is in the room elsewhere; each answers with `presence`. */
  | { type: 'presence_request' }
  /** Everyone in the room on the sending instance, replacing what was known of it (empty when it stops). */
  | { type: 'presence'; users: string[] };
export type BusMessageType = BusMessage['type'];

/** Where a message goes: every other instance (the default), or one instance by id. */
export interface PublishOptions {
  to?: string;
}

export type BusHandler = (message: BusMessage, origin: string) => void;

/** Counters an instance can show; all count since the bus was created. */
export interface BusStats {
  /** Messages accepted by `publish`. */
  published: number;
  /** Messages from other instances handed to the subscribers. */
  delivered: number;
  /** Messages `publish` refused because the outgoing buffer was full (it returned false). */
  dropped: number;
  /** Messages of other instances that never arrived here (seen as gaps in their sequence numbers). */
  lost: number;
  /** Copies of messages already delivered, skipped. */
  duplicates: number;
  /** Entries that were not a valid bus message, skipped. */
  malformed: number;
  /** Messages waiting to be sent (while the bus is disconnected, or in flight). */
  buffered: number;
  bufferedBytes: number;
  connected: boolean;
}

/** The bus's log lines; the server's `Logger` fits. */
export interface BusLog {
  info(event: string, fields?: Readonly<Record<string, string | number | undefined>>): void;
  error(event: string, fields?: Readonly<Record<string, string | number | undefined>>): void;
}

/**
 * The message bus between the instances of one deployment. Every message
 * published reaches every other instance (or the one it is addressed to)
 * exactly once, in the order its instance published it; an instance never
 * receives its own messages. `publish` never blocks and never throws: while
 * the bus's server is away, messages wait in a bounded buffer; past the bound
 * `publish` returns false and the message is counted in `dropped`.
 */
export interface Bus {
  readonly instanceId: string;
  /** Connects and starts delivering; resolves once messages published after it will be received. */
  start(): Promise<void>;
  publish(message: BusMessage, options?: PublishOptions): boolean;
  /** Handlers run in delivery order; one that throws is logged and does not stop the others. Returns an unsubscribe function. */
  subscribe(handler: BusHandler): () => void;
  stats(): BusStats;
  /** Sends what is still buffered (waiting a bounded time), then disconnects. Idempotent. */
  close(): Promise<void>;
}
