import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Bus, BusHandler, BusLog, BusMessage, BusStats, PublishOptions } from './bus.js';
import { BusError } from './bus-error.js';
import { encodeBusMessage } from './codec.js';
import { Inbound } from './inbound.js';
import { DEFAULT_MAX_BUFFERED_BYTES, Outbound, type OutboundEntry } from './outbound.js';
import { busStats } from './stats.js';
import { redactUrl } from '../util/redact-url.js';
import { settleWithin } from '../util/settle-within.js';

export interface RedisBusOptions {
  /** `redis://[user:password@]host[:port][/db]`. */
  url: string;
  instanceId: string;
  /** Prefix of every key the bus uses (default `chat:`): deployments, or tests, sharing one Redis keep apart by it. */
  keyPrefix?: string;
  /** Bound of the outgoing buffer, in bytes of message bodies (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Entries the stream keeps, approximately (`XADD MAXLEN ~`, default 100 000). */
  streamMaxLength?: number;
  /** How long one `XREAD` waits for new entries (default 1000 ms). */
  blockMs?: number;
  /** A connection with a command pending and no reply for this long is cut and made again (default 3000 ms). */
  socketTimeoutMs?: number;
  /** How long `start` tries to reach Redis (default 5000 ms). */
  startTimeoutMs?: number;
  /** How long `close` waits for the buffer to drain (default 2000 ms). */
  closeTimeoutMs?: number;
  log?: BusLog;
}

type RedisBusSettings = Required<Omit<RedisBusOptions, 'log' | 'instanceId'>>;

const REDIS_BUS_DEFAULTS: Readonly<Omit<RedisBusSettings, 'url'>> = Object.freeze({
  keyPrefix: 'chat:',
  maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES,
  streamMaxLength: 100_000,
  blockMs: 1000,
  socketTimeoutMs: 3000,
  startTimeoutMs: 5000,
  closeTimeoutMs: 2000,
});


/**
 * Appends a batch to the stream unless it is there already. Redis keeps, per
 * bus object (instance id and incarnation), the last sequence number it took
 * (`seqKey`); entries at or below it are copies of a batch whose reply was
 * lost, and are skipped. Everything
 * before `first` was confirmed earlier, so a count that is behind (Redis
 * restarted without its data) moves up to it. Stops at the first entry that
 * fails, so what is taken is always a prefix: per-origin order holds.
 * Returns the last sequence number taken.
 */
const APPEND_SCRIPT = `
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = tonumber(ARGV[3])
if last < first - 1 then last = first - 1 end
local seq = first
for i = 6, #ARGV, 2 do
  if seq > last then
    local reply = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'o', ARGV[1], 'i', ARGV[2], 's', seq, 't', ARGV[i], 'm', ARGV[i + 1])
    if type(reply) == 'table' and reply.err then break end
    last = seq
  end
  seq = seq + 1
end
redis.call('SET', KEYS[2], last, 'EX', ARGV[5])
return last
`;
const SEQ_TTL_SECONDS = 7 * 24 * 3600;
const BATCH_MAX_ENTRIES = 500;
const BATCH_MAX_BYTES = 512 * 1024;
const READ_COUNT = 1000;
const RETRY_MS = 200;

type StreamEntry = [id: string, fields: string[]];
type XReadReply = Array<[key: string, entries: StreamEntry[]]> | null;
type AppendingRedis = Redis & { busAppend(...args: Array<string | number>): Promise<number> };

/** `a` before `b` as stream ids (`ms-seq`)? */
function idBefore(a: string, b: string): boolean {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  return aMs < bMs || (aMs === bMs && aSeq < bSeq);
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const SILENT: BusLog = { info() {}, error() {} };

/**
 * The bus on one Redis stream (`<prefix>bus`). Publishing appends through
 * one batch in flight at a time, retried until Redis confirms it; reading
 * is `XREAD BLOCK` on a second connection from the last id this instance
 * has seen. See docs/cluster.md for the guarantee and its bounds.
 */
export class RedisBus implements Bus {
  readonly instanceId: string;
  readonly #incarnation = randomUUID();
  readonly #options: RedisBusSettings;
  readonly #log: BusLog;
  readonly #streamKey: string;
  readonly #seqKey: string;
  readonly #outbound: Outbound;
  readonly #inbound: Inbound;
  readonly #writer: AppendingRedis;
  readonly #reader: Redis;
  #state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  /** Where reading starts after a reset of the stream: the stream's end when this instance started. */
  #startId = '0-0';
  #lastId = '0-0';
  #sending = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #checkPosition = false;
  #writerDown = false;
  #readerDown = false;
  #readLoop: Promise<void> | undefined;
  #wakeReader: (() => void) | undefined;
  #drained: (() => void) | undefined;

  constructor(options: RedisBusOptions) {
    this.instanceId = options.instanceId;
    this.#options = { ...REDIS_BUS_DEFAULTS, ...definedOnly(options) } as RedisBusSettings;
    this.#log = options.log ?? SILENT;
    this.#streamKey = `${this.#options.keyPrefix}bus`;
    this.#seqKey = `${this.#options.keyPrefix}bus:seq:${this.instanceId}:${this.#incarnation}`;
    this.#outbound = new Outbound(this.#options.maxBufferedBytes, this.#log);
    this.#inbound = new Inbound(this.instanceId, this.#log);
    const common: RedisOptions = {
      lazyConnect: true,
      // Commands fail at once while disconnected, those in flight fail when the
      // connection drops (maxRetriesPerRequest 0; without it ioredis keeps them
      // pending forever when it does not resend them), and ioredis resends
      // nothing: the bus keeps and resends its own batches, in order.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.#options.socketTimeoutMs,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    };
    this.#writer = new Redis(this.#options.url, { ...common, connectionName: `chat-bus-w-${this.instanceId}` }) as AppendingRedis;
    this.#writer.defineCommand('busAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT });
    this.#reader = new Redis(this.#options.url, { ...common, connectionName: `chat-bus-r-${this.instanceId}` });
    this.#watch(this.#writer, 'writer');
    this.#watch(this.#reader, 'reader');
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'starting';
    try {
      await withTimeout(
        Promise.all([this.#writer.connect(), this.#reader.connect()]),
        this.#options.startTimeoutMs,
      );
      this.#startId = this.#lastId = await this.#streamEnd();
    } catch (error) {
      this.#state = 'closed';
      this.#writer.disconnect();
      this.#reader.disconnect();
      throw new BusError('bus_unreachable', `cannot reach the bus at ${redactUrl(this.#options.url)}: ${errorText(error)}`);
    }
    this.#state = 'running';
    this.#readLoop = this.#read();
    this.#pump();
  }

  publish(message: BusMessage, options: PublishOptions = {}): boolean {
    if (this.#state === 'closing' || this.#state === 'closed') return false;
    const queued = this.#outbound.push(options.to, encodeBusMessage(message));
    if (queued) this.#pump();
    return queued;
  }

  subscribe(handler: BusHandler): () => void {
    return this.#inbound.subscribe(handler);
  }

  stats(): BusStats {
    return busStats(this.#outbound, this.#inbound, this.#state === 'running' && this.#writer.status === 'ready' && this.#reader.status === 'ready');
  }

  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return this.#readLoop;
    const wasRunning = this.#state === 'running';
    this.#state = 'closing';
    if (wasRunning && this.#outbound.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.closeTimeoutMs);
        this.#drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    if (this.#outbound.size > 0) this.#log.error('bus_closed_unsent', { count: this.#outbound.size });
    this.#outbound.flushReport();
    this.#wakeReader?.();
    this.#writer.disconnect();
    this.#reader.disconnect();
    await this.#readLoop;
  }

  #watch(connection: Redis, role: 'writer' | 'reader'): void {
    connection.on('error', (error: unknown) => {
      // ioredis reports each failed reconnect; one line per outage is enough.
      if (!(role === 'writer' ? this.#writerDown : this.#readerDown) && this.#state === 'running') {
        this.#log.error('bus_error', { role, error: errorText(error) });
      }
    });
    connection.on('close', () => {
      if (this.#state !== 'running') return;
      if (role === 'writer' && !this.#writerDown) {
        this.#writerDown = true;
        this.#log.error('bus_disconnected', { role, buffered: this.#outbound.size });
      } else if (role === 'reader' && !this.#readerDown) {
        this.#readerDown = true;
        this.#log.error('bus_disconnected', { role });
      }
    });
    connection.on('ready', () => {
      if (role === 'writer') {
        if (this.#writerDown) this.#log.info('bus_connected', { role, buffered: this.#outbound.size });
        this.#writerDown = false;
        this.#pump();
      } else {
        if (this.#readerDown) this.#log.info('bus_connected', { role });
        this.#readerDown = false;
        // Redis may have come back without the stream (no persistence): see #read.
        this.#checkPosition = true;
        this.#wakeReader?.();
      }
    });
  }

  /** The id of the stream's last entry, or `0-0` when there is no stream (XREVRANGE of a missing key is empty, not an error). */
  async #streamEnd(): Promise<string> {
    const last = (await this.#reader.xrevrange(this.#streamKey, '+', '-', 'COUNT', 1)) as StreamEntry[];
    return last[0]?.[0] ?? '0-0';
  }

  #pump(): void {
    if (this.#state === 'closed' || this.#state === 'new' || this.#state === 'starting') return;
    if (this.#sending || this.#retryTimer !== undefined || this.#writer.status !== 'ready') return;
    if (this.#outbound.size === 0) {
      this.#drained?.();
      return;
    }
    const batch = this.#outbound.peek(BATCH_MAX_ENTRIES, BATCH_MAX_BYTES);
    this.#sending = true;
    const append = this.#writer.busAppend(this.#streamKey, this.#seqKey, this.instanceId, this.#incarnation, batch[0]!.seq, this.#options.streamMaxLength, SEQ_TTL_SECONDS, ...flatten(batch));
    cutIfSilent(this.#writer, append, this.#options.socketTimeoutMs)
      .then(
        (last) => {
          this.#outbound.confirmThrough(Number(last));
          this.#sending = false;
          // Redis refused part of the batch (out of memory, say): wait before trying again.
          if (Number(last) < batch.at(-1)!.seq) this.#retryLater();
          else this.#pump();
        },
        (error: unknown) => {
          this.#sending = false;
          // Not connected: the next `ready` pumps again. Otherwise try again shortly.
          if (this.#writer.status === 'ready') {
            this.#log.error('bus_publish_error', { error: errorText(error), buffered: this.#outbound.size });
            this.#retryLater();
          }
        },
      );
  }

  #retryLater(): void {
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#pump();
    }, RETRY_MS);
    this.#retryTimer.unref();
  }

  async #read(): Promise<void> {
    while (this.#state === 'running' || this.#state === 'closing') {
      if (this.#reader.status !== 'ready') {
        await this.#readerWakes(RETRY_MS * 5);
        continue;
      }
      try {
        if (this.#checkPosition) {
          this.#checkPosition = false;
          const end = await cutIfSilent(this.#reader, this.#streamEnd(), this.#options.socketTimeoutMs);
          if (idBefore(end, this.#lastId)) {
            // The stream is new or went back (Redis restarted without, or with older, data):
            // what it holds now came after, so read it from the start of this instance's life.
            this.#log.error('bus_stream_reset', { last_seen: this.#lastId, stream_end: end });
            this.#lastId = end === '0-0' ? '0-0' : this.#startId;
          }
        }
        const read = this.#reader.xread('COUNT', READ_COUNT, 'BLOCK', this.#options.blockMs, 'STREAMS', this.#streamKey, this.#lastId);
        const reply = (await cutIfSilent(this.#reader, read, this.#options.blockMs + this.#options.socketTimeoutMs)) as XReadReply;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            this.#lastId = id;
            this.#receive(fields);
          }
        }
      } catch (error) {
        if (this.#state !== 'running' && this.#state !== 'closing') return;
        if (this.#reader.status === 'ready') {
          this.#log.error('bus_read_error', { error: errorText(error) });
          await this.#readerWakes(RETRY_MS);
        }
      }
    }
  }

  #receive(fields: string[]): void {
    const field = (name: string): string | undefined => {
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
      return undefined;
    };
    const origin = field('o');
    const incarnation = field('i');
    const seq = Number(field('s'));
    const body = field('m');
    if (origin === undefined || incarnation === undefined || !Number.isSafeInteger(seq) || body === undefined) {
      this.#inbound.skipMalformed('entry without origin, incarnation, sequence or body');
      return;
    }
    const to = field('t');
    this.#inbound.receive({ origin, incarnation, seq, to: to === undefined || to === '' ? undefined : to, body });
  }

  /** Resolves when the reader connects again, on close, or after `ms`. */
  #readerWakes(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.#wakeReader === done) self.#wakeReader = undefined;
        resolve();
      }
      this.#wakeReader = done;
    });
  }
}

/**
 * A connection cut without a word (a dead peer, a dropped route) shows as a
 * command that never answers: after `ms`, drop the connection and make it
 * again, which fails every command pending on it.
 */
function cutIfSilent<T>(connection: Redis, command: Promise<T>, ms: number): Promise<T> {
  const timer = setTimeout(() => connection.disconnect(true), ms);
  return command.finally(() => clearTimeout(timer));
}

function flatten(batch: readonly OutboundEntry[]): string[] {
  const args: string[] = [];
  for (const entry of batch) args.push(entry.to ?? '', entry.body);
  return args;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}


function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return settleWithin(work, ms, () => {
    throw new Error(`no answer within ${ms} ms`);
  });
}
