import { randomUUID } from 'node:crypto';
import type { Bus, BusHandler, BusLog, BusMessage, BusStats, PublishOptions } from './bus.js';
import { encodeBusMessage } from './codec.js';
import { Inbound, type BusEntry } from './inbound.js';
import { DEFAULT_MAX_BUFFERED_BYTES, Outbound } from './outbound.js';
import { busStats } from './stats.js';

/**
 * The bus's server, in memory, for unit tests: instances in one process.
 * `setOnline(false)` plays an outage: buses keep publishing into their
 * buffers and send them when it is back.
 */
export class MemoryBusNetwork {
  readonly #buses = new Set<MemoryBus>();
  #online = true;

  get online(): boolean {
    return this.#online;
  }

  setOnline(online: boolean): void {
    this.#online = online;
    if (online) for (const bus of this.#buses) bus.pump();
  }

  /** @internal */ attach(bus: MemoryBus): void {
    this.#buses.add(bus);
  }

  /** @internal */ detach(bus: MemoryBus): void {
    this.#buses.delete(bus);
  }

  /** @internal Delivers in a later microtask, as a real bus never calls back within `publish`. */
  append(entries: readonly BusEntry[]): void {
    const receivers = [...this.#buses];
    queueMicrotask(() => {
      for (const entry of entries) for (const bus of receivers) bus.receive(entry);
    });
  }
}

export interface MemoryBusOptions {
  maxBufferedBytes?: number;
  log?: BusLog;
}

const SILENT: BusLog = { info() {}, error() {} };

export class MemoryBus implements Bus {
  readonly instanceId: string;
  readonly #incarnation = randomUUID();
  readonly #network: MemoryBusNetwork;
  readonly #outbound: Outbound;
  readonly #inbound: Inbound;
  #started = false;
  #closed = false;

  constructor(network: MemoryBusNetwork, instanceId: string, options: MemoryBusOptions = {}) {
    this.instanceId = instanceId;
    this.#network = network;
    const log = options.log ?? SILENT;
    this.#outbound = new Outbound(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES, log);
    this.#inbound = new Inbound(instanceId, log);
  }

  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#network.attach(this);
  }

  publish(message: BusMessage, options: PublishOptions = {}): boolean {
    if (this.#closed) return false;
    const queued = this.#outbound.push(options.to, encodeBusMessage(message));
    if (queued) queueMicrotask(() => this.pump());
    return queued;
  }

  subscribe(handler: BusHandler): () => void {
    return this.#inbound.subscribe(handler);
  }

  stats(): BusStats {
    return busStats(this.#outbound, this.#inbound, this.#started && !this.#closed && this.#network.online);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.pump();
    this.#closed = true;
    this.#outbound.flushReport();
    this.#network.detach(this);
  }

  /** @internal */ pump(): void {
    if (!this.#started || this.#closed || !this.#network.online || this.#outbound.size === 0) return;
    const batch = this.#outbound.peek(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    this.#network.append(batch.map(({ seq, to, body }) => ({ origin: this.instanceId, incarnation: this.#incarnation, seq, to, body })));
    this.#outbound.confirmThrough(batch.at(-1)!.seq);
  }

  /** @internal */ receive(entry: BusEntry): void {
    if (!this.#closed) this.#inbound.receive(entry);
  }
}
