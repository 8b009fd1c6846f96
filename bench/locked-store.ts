/**
 * The locked-database scenario (issue 10): the same chat load twice, once on
 * a free database and once while another process holds the SQLite write lock
 * (BEGIN IMMEDIATE, as an admin script or a backup would), side by side.
 * Measured: chat latency (send to receipt at every other client), and how
 * long a new connection waits for its greeting (the JSON `hello` answer, and
 * the text prompt, which the server sends after its 250 ms mode-sniffing
 * delay by design). Clients run in this process: the load is small.
 */
import net from 'node:net';
import { nowMs, sleep, summarizeLatencies, type LatencySummary } from './common.js';
import { holdWriteLock, isWriteLocked } from './sqlite-lock.js';

export interface LockedStorePlan {
  holdMs: number;
  clients: number;
  senders: number;
  /** Messages per second, all senders together. */
  rate: number;
}

export interface LockedStorePhase {
  locked: boolean;
  chat: LatencySummary;
  /** Sent minus received (every message should reach every other client). */
  lost: number;
  helloGreeting: LatencySummary;
  textGreeting: LatencySummary;
}

export interface LockedStoreResult {
  plan: LockedStorePlan;
  phases: LockedStorePhase[];
}

export interface LockedStoreDeps {
  /** Starts a fresh server whose database has `users` logged in with `password`. */
  start(): Promise<{ port: number; db: string; stop(): Promise<void> }>;
  users: readonly string[];
  password: string;
  log(line: string): void;
}

/** A JSON-mode client that timestamps what it hears. */
class Client {
  readonly socket: net.Socket;
  #buffer = '';
  readonly received: number[] = [];
  onLine: (message: Record<string, unknown>) => void = () => undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let newline: number;
      while ((newline = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        const message = JSON.parse(line) as Record<string, unknown>;
        if (message.type === 'ping') this.send({ type: 'pong' });
        if (message.type === 'message' && typeof message.text === 'string') this.received.push(nowMs() - Number(message.text.split(' ')[0]));
        this.onLine(message);
      }
    });
  }

  send(message: Record<string, unknown>): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  waitFor(accept: (message: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.onLine = (message) => {
        if (!accept(message)) return;
        clearTimeout(timer);
        this.onLine = () => undefined;
        resolve(message);
      };
    });
  }
}

async function login(port: number, username: string, password: string): Promise<Client> {
  const client = await Client.connect(port);
  const reply = client.waitFor((m) => m.type === 'login_ok' || m.type === 'login_failed', 30_000, `login of ${username}`);
  client.send({ type: 'hello', proto: 1, client: 'bench' });
  client.send({ type: 'login', username, password });
  if ((await reply).type !== 'login_ok') throw new Error(`login of ${username} failed`);
  return client;
}

/** Time from connecting to the answer to `hello` (JSON) or to the `Username:` prompt (text, silent). */
async function greeting(port: number, mode: 'json' | 'text'): Promise<number> {
  const started = nowMs();
  const socket = net.connect({ port, host: '127.0.0.1' });
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${mode} greeting within 30 s`)), 30_000);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('error', reject);
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (mode === 'json' ? text.includes('"type":"hello"') : text.includes('Username: ')) {
          clearTimeout(timer);
          resolve(nowMs() - started);
        }
      });
      if (mode === 'json') socket.write(`${JSON.stringify({ type: 'hello', proto: 1, client: 'bench' })}\n`);
    });
  } finally {
    socket.destroy();
  }
}

async function phase(port: number, db: string, clients: Client[], plan: LockedStorePlan, locked: boolean): Promise<LockedStorePhase> {
  for (const client of clients) client.received.length = 0;
  const lock = locked ? await holdWriteLock(db, plan.holdMs) : undefined;
  const started = nowMs();
  const helloGreetings: number[] = [];
  const textGreetings: number[] = [];
  let sent = 0;
  const probes = (async () => {
    while (nowMs() - started < plan.holdMs - 1000) {
      helloGreetings.push(await greeting(port, 'json'));
      textGreetings.push(await greeting(port, 'text'));
      await sleep(200);
    }
  })();
  const intervalMs = 1000 / plan.rate;
  for (let next = started; nowMs() - started < plan.holdMs - 500; next += intervalMs) {
    await sleep(Math.max(0, next - nowMs()));
    clients[sent % plan.senders]!.send({ type: 'say', text: `${nowMs()} m${sent}` });
    sent += 1;
  }
  // Still held when the load stopped: the numbers are numbers under the lock.
  const heldThroughout = lock === undefined || isWriteLocked(db);
  await probes;
  await lock?.exited;
  // Let the last messages land (bounded).
  const expected = sent * (clients.length - 1);
  const deadline = nowMs() + 10_000;
  const received = () => clients.reduce((n, c) => n + c.received.length, 0);
  while (received() < expected && nowMs() < deadline) await sleep(50);
  if (!heldThroughout) throw new Error('the write lock was released before the load stopped');
  return {
    locked,
    chat: summarizeLatencies(clients.flatMap((c) => c.received)),
    lost: expected - received(),
    helloGreeting: summarizeLatencies(helloGreetings),
    textGreeting: summarizeLatencies(textGreetings),
  };
}

export async function scenarioLockedStore(plan: LockedStorePlan, deps: LockedStoreDeps): Promise<LockedStoreResult> {
  const server = await deps.start();
  const clients: Client[] = [];
  try {
    for (const username of deps.users.slice(0, plan.clients)) clients.push(await login(server.port, username, deps.password));
    const phases: LockedStorePhase[] = [];
    for (const locked of [false, true]) {
      deps.log(`  ${locked ? 'locked by another process' : 'unlocked'} for ${plan.holdMs / 1000} s: ${plan.rate} msg/s from ${plan.senders} senders into ${plan.clients} clients`);
      phases.push(await phase(server.port, server.db, clients, plan, locked));
    }
    return { plan, phases };
  } finally {
    for (const client of clients) client.socket.destroy();
    await server.stop();
  }
}

export function formatLockedStore(result: LockedStoreResult, fmt: (n: number) => string): string[][] {
  return result.phases.map((p) => [
    p.locked ? `write lock held ${result.plan.holdMs / 1000} s` : 'unlocked',
    `${result.plan.rate} msg/s into ${result.plan.clients}`,
    `${fmt(p.chat.p50)} / ${fmt(p.chat.p99)} / ${fmt(p.chat.max)}`,
    String(p.lost),
    `${fmt(p.helloGreeting.p50)} / ${fmt(p.helloGreeting.max)}`,
    `${fmt(p.textGreeting.p50)} / ${fmt(p.textGreeting.max)}`,
  ]);
}

export const LOCKED_STORE_HEAD = ['locked store', 'load', 'chat p50/p99/max ms', 'lost', 'JSON hello p50/max ms', 'text prompt p50/max ms (250 ms by design)'];
