/**
 * A load-generator process, forked by run.ts and driven over IPC. It holds
 * groups of client connections (chat protocol in JSON mode, or raw lines for
 * the bench relay), logs them in, sends at saturation (a window of un-acked
 * `say`s per sender) or at a paced rate, and counts what arrives cheaply: it
 * finds line ends with indexOf and looks at one byte per line to tell a
 * `message` from an `ack`. Only latency samplers decode their lines.
 */
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import {
  nowMs,
  type ConnectRequest,
  type ConnectResult,
  type CountersResult,
  type GenMessage,
  type GenReply,
  type GenRequest,
  type PaceStartRequest,
  type SaturateRequest,
  type SaturateResult,
  type WireKind,
} from './common.js';

/** `{"type":"` is 9 bytes: the byte after it names the line's type. */
const TYPE_OFFSET = 9;
const CHAR_M = 0x6d; // message
const CHAR_A = 0x61; // ack
const CHAR_B = 0x62; // bye
const CHAR_P = 0x70; // ping
const PONG = '{"type":"pong"}\n';
const NEWLINE = 0x0a;
/** The shape of a server's message id (PROTOCOL.md "Message ids"), for the relay's lines. */
const RELAY_MESSAGE_ID = '0mx54nacz000-3f2a9c1b4d5e4f60';
/** Padding so a message line is about the size of a short chat line. */
const PAD = ' '.padEnd(48, 'x');
/** Every socket of this process reads into this buffer; a chunk is consumed before the next read. */
const READ_BUFFER = Buffer.alloc(256 * 1024);

class Group {
  readonly clients: Client[] = [];
  received = 0;
  sent = 0;
  acks = 0;
  dropped = 0;
  byes = 0;
  latencies: number[] = [];
  window = 0;
  sending = false;
  paceTimer: NodeJS.Timeout | undefined;
  constructor(
    readonly name: string,
    readonly kind: WireKind,
  ) {}
}

class Client {
  socket: Socket | undefined;
  ready = false;
  closed = false;
  sampler = false;
  sender = false;
  inflight = 0;
  seq = 0;
  busy = 0;
  /** Decode every line (login phase, samplers); otherwise count by one byte per line. */
  #full = true;
  #decoder = new StringDecoder('utf8');
  #tail = '';
  /** Count mode: type byte of the current line (0 = not seen yet) and bytes of it seen so far. */
  #kind = 0;
  #headSeen = 0;
  #onLoginLine: ((line: string) => void) | undefined;

  constructor(
    readonly group: Group,
    readonly username: string,
  ) {}

  attach(socket: Socket, onLoginLine: ((line: string) => void) | undefined): void {
    this.socket = socket;
    this.#onLoginLine = onLoginLine;
    if (onLoginLine === undefined) this.#full = this.sampler;
  }

  becomeReady(): void {
    this.ready = true;
    this.#onLoginLine = undefined;
  }

  /** Called with a view of the shared read buffer: everything is done with it before returning. */
  onData(chunk: Buffer): void {
    if (this.#full) this.#parseFull(chunk);
    else this.#count(chunk);
    if (this.sender && this.group.sending && this.inflight < this.group.window) this.topUp();
  }

  #count(buf: Buffer): void {
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      const nl = buf.indexOf(NEWLINE, pos);
      if (this.#kind === 0) {
        const at = pos + (TYPE_OFFSET - this.#headSeen);
        const end = nl === -1 ? len : nl;
        if (at < end) this.#kind = buf[at]!;
        else if (nl !== -1) this.#kind = 1;
      }
      if (nl === -1) {
        this.#headSeen += len - pos;
        return;
      }
      this.#lineDone(this.#kind);
      this.#kind = 0;
      this.#headSeen = 0;
      pos = nl + 1;
    }
  }

  #lineDone(kind: number): void {
    if (kind === CHAR_M) this.group.received += 1;
    else if (kind === CHAR_A) {
      this.group.acks += 1;
      this.inflight -= 1;
    } else if (kind === CHAR_B) this.group.byes += 1;
    else if (kind === CHAR_P && this.group.kind === 'json') this.socket?.write(PONG);
  }

  #parseFull(chunk: Buffer): void {
    const at = nowMs();
    const text = this.#tail + this.#decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      start = nl + 1;
      if (this.#onLoginLine !== undefined) {
        this.#onLoginLine(line);
        continue;
      }
      const kind = line.charCodeAt(TYPE_OFFSET);
      this.#lineDone(line.startsWith('{"type":"') ? kind : 1);
      if (kind === CHAR_M && this.sampler) {
        const mark = line.indexOf('"text":"L');
        if (mark !== -1) {
          const sentAt = Number.parseFloat(line.slice(mark + 9, line.indexOf(' ', mark + 9)));
          if (Number.isFinite(sentAt)) this.group.latencies.push(at - sentAt);
        }
      }
    }
    this.#tail = text.slice(start);
    // Switch to counting at a line boundary, once logged in, unless sampling.
    if (this.ready && !this.sampler && this.#onLoginLine === undefined && this.#tail === '') this.#full = false;
  }

  /** Saturation: keep `window` un-acked messages outstanding. */
  topUp(): void {
    if (this.closed || this.socket === undefined) return;
    let out = '';
    while (this.inflight < this.group.window) {
      out += this.#line(`S${this.seq} ${PAD}`);
      this.inflight += 1;
      this.group.sent += 1;
    }
    if (out.length > 0) this.socket.write(out);
  }

  /** Paced: `count` messages, each stamped with its send time. */
  sendTimed(count: number): void {
    if (this.closed || this.socket === undefined || count <= 0) return;
    let out = '';
    for (let i = 0; i < count; i += 1) {
      out += this.#line(`L${nowMs().toFixed(3)} ${PAD}`);
      this.inflight += 1;
      this.group.sent += 1;
    }
    this.socket.write(out);
  }

  #line(text: string): string {
    this.seq += 1;
    if (this.group.kind === 'json') return `{"type":"say","text":"${text}","id":"${this.seq}"}\n`;
    // The relay forwards lines as they are: send what the server would send on, its message id included
    // (since the ids of 2026-12-01; without it the relay's deliveries were 30 bytes shorter than the server's).
    return `{"type":"message","from":"${this.username}","text":"${text}","ts":"2026-01-01T00:00:00.000Z","id":"${RELAY_MESSAGE_ID}"}\n`;
  }
}

const groups = new Map<string, Group>();

function groupOf(name: string): Group {
  const group = groups.get(name);
  if (group === undefined) throw new Error(`no group ${name}`);
  return group;
}

function openClient(group: Group, client: Client, req: ConnectRequest, result: ConnectResult, port: number): Promise<void> {
  return new Promise((resolve) => {
    const started = nowMs();
    let settled = false;
    let attempts = 0;
    /** `message` lines marked `history` before `history_end` (with req.replay). */
    let replayed = 0;
    const done = (ok: boolean, why?: string) => {
      if (settled) return;
      settled = true;
      if (ok) {
        client.becomeReady();
        result.ready += 1;
        const at = nowMs();
        result.lastReadyAt = Math.max(result.lastReadyAt, at);
        result.loginMs.push(at - started);
      } else {
        result.failed += 1;
        if (why !== undefined && result.errors.length < 5) result.errors.push(`${client.username}: ${why}`);
        client.socket?.destroy();
      }
      resolve();
    };
    // Reads land in one shared buffer (no Buffer per read, no stream events): receiving is most of a generator's work.
    const socket = connect({
      host: '127.0.0.1',
      port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array) => {
          client.onData(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
          return true;
        },
      },
    });
    group.clients.push(client);
    const sendLogin = () => {
      attempts += 1;
      socket.write(`{"type":"login","username":"${client.username}","password":"${req.password}"}\n`);
    };
    const onLoginLine =
      req.kind === 'raw'
        ? undefined
        : (line: string) => {
            if (!line.startsWith('{')) return;
            let msg: { type?: string; reason?: string; history?: boolean; count?: number };
            try {
              msg = JSON.parse(line) as typeof msg;
            } catch {
              return;
            }
            if (msg.type === 'login_ok') {
              if (req.replay === undefined) done(true);
            } else if (msg.type === 'message' && msg.history === true) replayed += 1;
            else if (msg.type === 'history_end' && req.replay !== undefined) {
              if (replayed === req.replay && msg.count === req.replay) done(true);
              else done(false, `replayed ${replayed} messages (history_end count ${msg.count}), expected ${req.replay}`);
            } else if (msg.type === 'login_failed') {
              if (msg.reason === 'server_busy') {
                result.busy += 1;
                client.busy += 1;
                const backoff = Math.min(2000, 100 * 2 ** Math.min(client.busy, 5)) * (0.5 + Math.random());
                setTimeout(() => !settled && !client.closed && sendLogin(), backoff);
              } else done(false, `login_failed ${msg.reason} after ${attempts} attempt(s)`);
            } else if (msg.type === 'bye') done(false, `bye ${line}`);
          };
    client.attach(socket, onLoginLine);
    socket.on('connect', () => {
      if (req.kind === 'raw') done(true);
      else {
        socket.write('{"type":"hello","proto":1,"client":"bench"}\n');
        sendLogin();
      }
    });
    socket.on('error', (error) => done(false, error.message));
    socket.on('close', () => {
      if (client.ready && !client.closed) group.dropped += 1;
      client.closed = true;
      done(false, 'closed');
    });
  });
}

async function connectGroup(req: ConnectRequest): Promise<ConnectResult> {
  let group = groups.get(req.group);
  if (group === undefined) {
    group = new Group(req.group, req.kind);
    groups.set(req.group, group);
  }
  const result: ConnectResult = { ready: 0, failed: 0, busy: 0, startedAt: nowMs(), lastReadyAt: 0, loginMs: [], errors: [] };
  const clients = req.usernames.map((name, i) => {
    const client = new Client(group, name);
    client.sampler = i < req.samplers;
    return client;
  });
  let next = 0;
  const worker = async () => {
    while (next < clients.length) {
      const index = next++;
      const port = req.ports === undefined || req.ports.length === 0 ? req.port : req.ports[index % req.ports.length]!;
      await openClient(group, clients[index]!, req, result, port);
    }
  };
  const all = Promise.all(Array.from({ length: Math.max(1, Math.min(req.concurrency, clients.length)) }, worker));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, req.timeoutMs)));
  await Promise.race([all, timeout]);
  clearTimeout(timer);
  if (result.ready + result.failed < clients.length) result.errors.push(`timed out with ${clients.length - result.ready - result.failed} still connecting`);
  return result;
}

/** Senders are the first ready clients that do not sample latency (samplers stay pure receivers). */
function pickSenders(group: Group, count: number): Client[] {
  const ready = group.clients.filter((c) => c.ready && !c.closed);
  const plain = ready.filter((c) => !c.sampler);
  const chosen = plain.slice(0, count);
  if (chosen.length < count) chosen.push(...ready.filter((c) => c.sampler).slice(0, count - chosen.length));
  for (const client of group.clients) client.sender = false;
  for (const client of chosen) client.sender = true;
  return chosen;
}

function saturate(req: SaturateRequest): Promise<SaturateResult> {
  const group = groupOf(req.group);
  const senders = pickSenders(group, req.senders);
  group.window = req.window;
  group.sending = true;
  const sentBefore = group.sent;
  for (const sender of senders) {
    sender.inflight = 0;
    sender.topUp();
  }
  return new Promise((resolve) => {
    let r0 = 0;
    let t0 = 0;
    setTimeout(() => {
      r0 = group.received;
      t0 = nowMs();
    }, req.warmupMs);
    setTimeout(() => {
      group.sending = false;
      const t1 = nowMs();
      resolve({ sent: group.sent - sentBefore, r0, r1: group.received, t0, t1 });
    }, req.warmupMs + req.durationMs);
  });
}

function paceStart(req: PaceStartRequest): void {
  const group = groupOf(req.group);
  const senders = pickSenders(group, req.senders);
  const started = nowMs();
  const sentBy = new Map<Client, number>(senders.map((s) => [s, 0]));
  // Staggered: sender i of n (on generator g of G) is (i·G + g)/(n·G) of a period ahead, so the sends of one period are spread over it.
  const slots = req.staggerOf ?? 1;
  const slot = req.staggerSlot ?? 0;
  const phase = new Map<Client, number>(senders.map((s, i) => [s, req.stagger === true ? (i * slots + slot) / (senders.length * slots) : 0]));
  clearInterval(group.paceTimer);
  group.paceTimer = setInterval(() => {
    const periods = ((nowMs() - started) / 1000) * req.rate;
    for (const sender of senders) {
      const due = Math.floor(periods + phase.get(sender)!);
      const count = due - sentBy.get(sender)!;
      if (count <= 0) continue;
      sentBy.set(sender, due);
      sender.sendTimed(count);
    }
  }, req.tickMs ?? 2);
}

function counters(group: Group, reset: boolean): CountersResult {
  const result = {
    received: group.received,
    sent: group.sent,
    acks: group.acks,
    dropped: group.dropped,
    byes: group.byes,
    ready: group.clients.filter((c) => c.ready && !c.closed).length,
  };
  if (reset) {
    group.received = 0;
    group.sent = 0;
    group.acks = 0;
    group.latencies = [];
  }
  return result;
}

async function handle(req: GenRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'connect':
      return connectGroup(req);
    case 'saturate':
      return saturate(req);
    case 'paceStart':
      paceStart(req);
      return null;
    case 'paceStop': {
      const group = groupOf(req.group);
      clearInterval(group.paceTimer);
      group.paceTimer = undefined;
      return group.sent;
    }
    case 'counters':
      return counters(groupOf(req.group), req.reset === true);
    case 'latencies': {
      const group = groupOf(req.group);
      const list = group.latencies;
      group.latencies = [];
      return list;
    }
    case 'close': {
      const group = groups.get(req.group);
      if (group === undefined) return 0;
      clearInterval(group.paceTimer);
      for (const client of group.clients) {
        client.closed = true;
        client.socket?.destroy();
      }
      groups.delete(req.group);
      return group.clients.length;
    }
    case 'exit':
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (message: GenMessage) => {
  handle(message.req).then(
    (result) => process.send?.({ id: message.id, ok: true, result } satisfies GenReply),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies GenReply),
  );
});
// The orchestrator is gone: nothing else will ever stop this process.
process.on('disconnect', () => process.exit(0));
