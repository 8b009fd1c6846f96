/**
 * The flooders of the `flooders` scenario, in a process of their own (forked
 * by bench/flooders.ts and driven over IPC), so that their writing never
 * stalls the processes that measure latency. Each flooder logs in (JSON or
 * text mode), then, on `flood`, writes one kind of line as fast as its socket
 * takes it: a large buffer of copies, the next one each time the socket
 * drains. It reads what comes back cheaply (line ends and a goodbye) and
 * reports how many lines it wrote and whether, and when, it was cut off.
 */
import { connect, type Socket } from 'node:net';
import { nowMs } from './common.js';

/** The line types a flooder can send. */
export const FLOOD_KINDS = ['pong', 'who', 'unknown', 'long', 'text-who', 'say'] as const;
export type FloodKind = (typeof FLOOD_KINDS)[number];

/** Bytes of one over-long line: twice the default --max-line (4096). */
const LONG_LINE_BYTES = 8192;
/** About this many bytes of lines per write. */
const CHUNK_BYTES = 64 * 1024;

function lineOf(kind: FloodKind): string {
  switch (kind) {
    case 'pong':
      return '{"type":"pong"}\n';
    case 'who':
      return '{"type":"who"}\n';
    case 'unknown':
      return '{"type":"no_such_type"}\n';
    case 'long':
      return `{"type":"say","text":"${'x'.repeat(LONG_LINE_BYTES)}"}\n`;
    case 'text-who':
      return 'c.who\n';
    case 'say':
      return '{"type":"say","text":"flood flood flood"}\n';
  }
}

export const textMode = (kind: FloodKind): boolean => kind === 'text-who';

export interface FlooderStartRequest {
  cmd: 'start';
  port: number;
  kind: FloodKind;
  usernames: string[];
  password: string;
  timeoutMs: number;
}

export interface FlooderStats {
  username: string;
  /** Lines handed to the socket (whole copies written). */
  linesWritten: number;
  bytesWritten: number;
  /** Lines read back from the server (replies, errors, chat). */
  linesRead: number;
  /** The goodbye's reason, if one came ('flooding' is the flood guard). */
  byeReason: string | undefined;
  /** From the start of the flood to the goodbye (ms), or to the close. */
  byeAfterMs: number | undefined;
  closedAfterMs: number | undefined;
}

export type FlooderRequest = FlooderStartRequest | { cmd: 'flood' } | { cmd: 'stop' } | { cmd: 'exit' };

class Flooder {
  readonly socket: Socket;
  readonly stats: FlooderStats;
  #chunk: Buffer;
  #linesPerChunk: number;
  #flooding = false;
  #floodStarted = 0;
  #tail = '';
  #loggedIn: (() => void) | undefined;
  #failed: ((why: string) => void) | undefined;

  constructor(port: number, kind: FloodKind, readonly username: string, password: string) {
    const line = lineOf(kind);
    this.#linesPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / line.length));
    this.#chunk = Buffer.from(line.repeat(this.#linesPerChunk));
    this.stats = { username, linesWritten: 0, bytesWritten: 0, linesRead: 0, byeReason: undefined, byeAfterMs: undefined, closedAfterMs: undefined };
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.setEncoding('utf8');
    this.socket.on('connect', () => {
      if (textMode(kind)) this.socket.write(`${username}\n${password}\n`);
      else this.socket.write(`{"type":"hello","proto":1,"client":"bench-flooder"}\n{"type":"login","username":"${username}","password":"${password}"}\n`);
    });
    this.socket.on('data', (text: string) => this.#read(text));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      if (this.#flooding) this.stats.closedAfterMs = nowMs() - this.#floodStarted;
      this.#flooding = false;
      this.#failed?.('closed before login');
    });
    this.socket.on('drain', () => this.#pump());
  }

  loggedIn(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.username}: no login within ${timeoutMs} ms`)), timeoutMs);
      this.#loggedIn = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#failed = (why) => {
        clearTimeout(timer);
        reject(new Error(`${this.username}: ${why}`));
      };
    });
  }

  flood(): void {
    this.#flooding = true;
    this.#floodStarted = nowMs();
    this.#pump();
  }

  stop(): void {
    this.#flooding = false;
    this.socket.destroy();
  }

  #pump(): void {
    while (this.#flooding && !this.socket.destroyed) {
      this.stats.linesWritten += this.#linesPerChunk;
      this.stats.bytesWritten += this.#chunk.length;
      if (!this.socket.write(this.#chunk)) return;
    }
  }

  #read(text: string): void {
    const all = this.#tail + text;
    let start = 0;
    for (let nl = all.indexOf('\n'); nl !== -1; nl = all.indexOf('\n', start)) {
      const line = all.slice(start, nl);
      start = nl + 1;
      this.stats.linesRead += 1;
      if (this.#loggedIn !== undefined) {
        // A text prompt ends without a newline: the welcome follows it on the same line.
        if (line.startsWith('{"type":"login_ok"') || line.includes('* Welcome,')) {
          const done = this.#loggedIn;
          this.#loggedIn = undefined;
          this.#failed = undefined;
          done();
        } else if (line.startsWith('{"type":"login_failed"') || line.startsWith('{"type":"bye"')) {
          this.#failed?.(line);
        }
        continue;
      }
      if (this.stats.byeReason !== undefined) continue;
      const json = /^\{"type":"bye","reason":"([a-z_]+)"/.exec(line);
      const text = /! Disconnected for (flooding)/.exec(line);
      const reason = json?.[1] ?? text?.[1];
      if (reason !== undefined) {
        this.stats.byeReason = reason;
        this.stats.byeAfterMs = nowMs() - this.#floodStarted;
      }
    }
    // Only the tail of an unfinished line is kept (a `who` reply is short; nothing here is long).
    this.#tail = all.slice(start).slice(-256);
  }
}

let flooders: Flooder[] = [];

async function handle(req: FlooderRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start': {
      flooders = req.usernames.map((name) => new Flooder(req.port, req.kind, name, req.password));
      await Promise.all(flooders.map((f) => f.loggedIn(req.timeoutMs)));
      return flooders.length;
    }
    case 'flood':
      for (const f of flooders) f.flood();
      return null;
    case 'stop':
      for (const f of flooders) f.stop();
      return flooders.map((f) => f.stats);
    case 'exit':
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (message: { id: number; req: FlooderRequest }) => {
  handle(message.req).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
// The orchestrator is gone: nothing else will ever stop this process.
process.on('disconnect', () => process.exit(0));
