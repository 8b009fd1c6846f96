/**
 * Recent history (issue 13), measured against the built server on SQLite:
 *
 *   node dist/bench/history.js [--logins N] [--crash-rounds N] [--rate MSG_PER_S]
 *
 * - login time with 50 messages to replay: N logins one after another, from
 *   the `login` line to `history_end` (history on, 50 stored) and to
 *   `login_ok` (--history 0), bcrypt cost 4;
 * - what a `kill -9` loses: one client sends at a fixed rate, each `say`
 *   acknowledged; the server is killed at a random moment; acknowledged
 *   messages missing from the store are the loss, also given as ms of traffic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { hashPassword } from '../src/accounts/passwords.js';
import { openStore, writeTransaction } from '../src/store/open-store.js';
import { insertUser } from '../src/store/users.js';
import { nowMs, sleep, summarizeLatencies } from './common.js';

const SERVER_MAIN = new URL('../src/server/main.js', import.meta.url).pathname;
const PASSWORD = 'bench-history-pw';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

async function prepare(dbFile: string, users: string[]): Promise<void> {
  const store = await openStore({ file: dbFile, create: true, thread: 'inline' });
  const hash = await hashPassword(PASSWORD, 4);
  await writeTransaction(store.db, async (trx) => {
    for (const username of users) await insertUser(trx, { username, passwordHash: hash, at: new Date().toISOString() });
  });
  await store.close();
}

async function startServer(dbFile: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [SERVER_MAIN, '--host', '127.0.0.1', '--port', '0', '--db', dbFile, '--bcrypt-cost', '4', '--rate-limit', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start')), 20_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on [^\s]+:(\d+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  return { child, port };
}

/** A JSON client: lines in, `wait(pred)` for a message. */
class Client {
  readonly messages: Array<Record<string, unknown>> = [];
  #buffer = '';
  #waiters: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line.startsWith('{')) this.messages.push(JSON.parse(line) as Record<string, unknown>);
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
    socket.on('error', () => undefined);
  }
  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }
  send(message: Record<string, unknown>): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }
  async wait(accept: (m: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = nowMs() + timeoutMs;
    for (;;) {
      const found = this.messages.find(accept);
      if (found !== undefined) return found;
      if (nowMs() > deadline) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}

async function loginTimes(history: boolean, logins: number, dir: string): Promise<ReturnType<typeof summarizeLatencies>> {
  const dbFile = join(dir, `login-${history ? 'on' : 'off'}.db`);
  await prepare(dbFile, ['talker', 'reader']);
  const server = await startServer(dbFile, history ? [] : ['--history', '0']);
  try {
    const talker = await Client.connect(server.port);
    talker.send({ type: 'hello', proto: 1 });
    talker.send({ type: 'login', username: 'talker', password: PASSWORD });
    await talker.wait((m) => m.type === 'login_ok');
    for (let i = 1; i <= 50; i++) talker.send({ type: 'say', text: `message number ${i} of the history that a login replays`, id: String(i) });
    await talker.wait((m) => m.type === 'ack' && m.id === '50');
    await sleep(500);
    const times: number[] = [];
    for (let i = 0; i < logins; i++) {
      const reader = await Client.connect(server.port);
      reader.send({ type: 'hello', proto: 1 });
      await reader.wait((m) => m.type === 'hello');
      const started = nowMs();
      reader.send({ type: 'login', username: 'reader', password: PASSWORD });
      const end = await reader.wait((m) => m.type === (history ? 'history_end' : 'login_ok'));
      times.push(nowMs() - started);
      if (history && end.count !== 50) throw new Error(`replayed ${String(end.count)}, not 50`);
      reader.send({ type: 'quit' });
      await reader.wait((m) => m.type === 'bye');
      reader.socket.destroy();
    }
    return summarizeLatencies(times);
  } finally {
    server.child.kill('SIGKILL');
  }
}

async function crashLoss(rate: number, dir: string, round: number): Promise<{ acked: number; stored: number; lost: number; lostMs: number }> {
  const dbFile = join(dir, `crash-${round}.db`);
  await prepare(dbFile, ['talker']);
  const server = await startServer(dbFile, []);
  const talker = await Client.connect(server.port);
  talker.send({ type: 'hello', proto: 1 });
  talker.send({ type: 'login', username: 'talker', password: PASSWORD });
  await talker.wait((m) => m.type === 'login_ok');
  let n = 0;
  const timer = setInterval(() => talker.send({ type: 'say', text: `m${++n}`, id: String(n) }), 1000 / rate);
  // Killed at a random point of a 200 ms interval, after 2 s of traffic.
  await sleep(2000 + Math.random() * 400);
  server.child.kill('SIGKILL');
  await new Promise((resolve) => server.child.once('exit', resolve));
  clearInterval(timer);
  const acked = talker.messages.filter((m) => m.type === 'ack').length;
  talker.socket.destroy();
  const db = new Database(dbFile, { readonly: true });
  const stored = (db.prepare('select count(*) as n from messages').get() as { n: number }).n;
  db.close();
  const lost = Math.max(0, acked - stored);
  return { acked, stored, lost, lostMs: (lost / rate) * 1000 };
}

async function main(): Promise<void> {
  const logins = arg('--logins', 30);
  const rounds = arg('--crash-rounds', 5);
  const rate = arg('--rate', 200);
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-history-'));
  try {
    const load = loadavg().map((x) => x.toFixed(2)).join(' ');
    const on = await loginTimes(true, logins, dir);
    const off = await loginTimes(false, logins, dir);
    const crashes = [];
    for (let r = 0; r < rounds; r++) crashes.push(await crashLoss(rate, dir, r));
    const result = { loadAtStart: load, loadAtEnd: loadavg().map((x) => x.toFixed(2)).join(' '), logins, loginWithReplayMs: on, loginWithoutHistoryMs: off, crashRate: rate, crashes };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench history: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
