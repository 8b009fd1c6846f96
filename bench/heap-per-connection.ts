/**
 * What one idle logged-in connection holds in the server's JavaScript heap.
 *
 *   npm run build && node dist/bench/heap-per-connection.js [--clients N] [--warmup N] [--node-flags "FLAGS"] [--server-args "FLAGS"] [--server-build DIR] [--keep]
 *
 * Starts a server (bench flags, heartbeats on at 30 s) on a fresh database,
 * logs `--warmup` JSON clients in (so compiled code and caches are there in
 * both snapshots), takes a heap snapshot (SIGUSR2, `--heapsnapshot-signal`;
 * a snapshot collects garbage first), logs `--clients` more in, takes a
 * second one, and prints what grew, by V8 node type and constructor name,
 * per added connection, and the RSS (whole process) per added connection
 * for comparison: RSS − heap is native memory (libuv, Node's socket
 * wrappers, malloc) plus V8 pages not yet used. `--server-build DIR` runs
 * the server of another built checkout (an old build, side by side).
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './common.js';
import { readRssKiB, waitQuiet as waitQuietWithin } from './proc.js';
import { seedUsers } from './seed.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSWORD = 'heap-pw';
const FLAGS = ['--rate-limit', '0', '--max-connections', '0', '--max-per-address', '0', '--max-prelogin', '0', '--max-prelogin-per-address', '0', '--max-prelogin-per-prefix', '0', '--login-timeout', '0', '--bcrypt-cost', '4', '--heartbeat', '30s', '--login-queue', '0'];
const LOGINS_AT_ONCE = 64;

interface Options {
  clients: number;
  warmup: number;
  nodeFlags: string[];
  serverArgs: string[];
  keep: boolean;
  serverBuild: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { clients: 2000, warmup: 200, nodeFlags: [], serverArgs: [], keep: false, serverBuild: ROOT };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--clients') options.clients = Number(value());
    else if (flag === '--warmup') options.warmup = Number(value());
    else if (flag === '--node-flags') options.nodeFlags = value().split(/\s+/).filter(Boolean);
    else if (flag === '--server-args') options.serverArgs = value().split(/\s+/).filter(Boolean);
    else if (flag === '--server-build') options.serverBuild = resolve(value());
    else if (flag === '--keep') options.keep = true;
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!(options.clients > 0) || !(options.warmup >= 0)) throw new Error('--clients must be positive and --warmup not negative');
  return options;
}

const names = (count: number, from = 0) => Array.from({ length: count }, (_, i) => `h${String(from + i).padStart(5, '0')}`);

const rssKiB = (pid: number): number => readRssKiB(pid).rss;
/** At most a minute, as before each reading. */
const waitQuiet = (pid: number): Promise<number> => waitQuietWithin(pid, 60_000);

/** Logs one JSON client in; it answers pings and stays connected. */
function login(port: number, username: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${username}: no login_ok within 120 s`)), 120_000);
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`{"type":"hello","proto":1,"client":"heap"}\n{"type":"login","username":"${username}","password":"${PASSWORD}"}\n`));
    socket.on('data', (text: string) => {
      buffered += text;
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        if (line.includes('"type":"ping"')) socket.write('{"type":"pong"}\n');
        if (line.includes('"type":"login_ok"')) {
          clearTimeout(timer);
          resolve(socket);
        } else if (line.includes('"type":"login_failed"')) reject(new Error(`${username}: ${line}`));
      }
      // Only pings matter once logged in: the joins of others are dropped unread.
      if (buffered.length > 1 << 16) buffered = '';
    });
  });
}

async function loginAll(port: number, users: string[]): Promise<Socket[]> {
  const sockets: Socket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < users.length) sockets.push(await login(port, users[next++]!));
  };
  await Promise.all(Array.from({ length: LOGINS_AT_ONCE }, worker));
  return sockets;
}

/** Self size and count by "type:name" (strings, code and arrays by type only: their names are their contents). */
async function summarise(file: string): Promise<Map<string, { count: number; bytes: number }>> {
  const text = await new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = [];
    createReadStream(file)
      .on('data', (chunk) => parts.push(chunk as Buffer))
      .on('end', () => resolve(Buffer.concat(parts).toString('utf8')))
      .on('error', reject);
  });
  const snapshot = JSON.parse(text) as { snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const byKind = new Map<string, { count: number; bytes: number }>();
  const named = new Set(['object', 'closure', 'native', 'hidden', 'synthetic']);
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const name = snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    const key = named.has(type) ? `${type}:${name.slice(0, 60)}` : type;
    const entry = byKind.get(key) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += snapshot.nodes[i + sizeAt]!;
    byKind.set(key, entry);
  }
  return byKind;
}

async function snapshotNow(pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')));
  process.kill(pid, 'SIGUSR2');
  // The file is complete when its size stops changing.
  let last = -1;
  for (let i = 0; i < 600; i += 1) {
    await sleep(500);
    const fresh = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh === undefined) continue;
    const size = readFileSync(join(dir, fresh)).length;
    if (size > 0 && size === last) return join(dir, fresh);
    last = size;
  }
  throw new Error('no heap snapshot within 300 s');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'chat-heap-'));
  const db = join(dir, 'heap.db');
  const users = names(options.warmup + options.clients);
  await seedUsers(db, [{ usernames: users, password: PASSWORD, cost: 4 }], options.serverBuild === ROOT ? undefined : options.serverBuild);

  const serverMain = join(options.serverBuild, 'dist', 'src', 'server', 'main.js');
  const child = spawn(process.execPath, ['--heapsnapshot-signal=SIGUSR2', ...options.nodeFlags, serverMain, '--host', '127.0.0.1', '--port', '0', '--db', db, ...FLAGS, ...options.serverArgs], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const sockets: Socket[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (text: string) => {
        out += text;
        const match = /listening on [\d.]+:(\d+)/.exec(out);
        if (match !== null) resolve(Number(match[1]));
        if (out.length > 1 << 16) out = out.slice(-4096);
      });
      child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    });
    const pid = child.pid!;
    await waitQuiet(pid);
    const rssIdle = rssKiB(pid);
    sockets.push(...(await loginAll(port, users.slice(0, options.warmup))));
    await waitQuiet(pid);
    const first = await snapshotNow(pid, dir);
    await waitQuiet(pid);
    const rss0 = rssKiB(pid);
    sockets.push(...(await loginAll(port, users.slice(options.warmup))));
    await waitQuiet(pid);
    const second = await snapshotNow(pid, dir);
    await waitQuiet(pid);
    const rss1 = rssKiB(pid);

    const [a, b] = [await summarise(first), await summarise(second)];
    const rows: Array<{ key: string; count: number; bytes: number }> = [];
    let total = 0;
    for (const [key, after] of b) {
      const before = a.get(key) ?? { count: 0, bytes: 0 };
      const bytes = after.bytes - before.bytes;
      total += bytes;
      rows.push({ key, count: after.count - before.count, bytes });
    }
    rows.sort((x, y) => y.bytes - x.bytes);
    const n = options.clients;
    process.stdout.write(`server RSS: idle ${(rssIdle / 1024).toFixed(1)} MiB, after ${options.warmup} warm-up logins ${(rss0 / 1024).toFixed(1)} MiB, after ${n} more ${(rss1 / 1024).toFixed(1)} MiB\n`);
    process.stdout.write(`per added connection: RSS ${(((rss1 - rss0) * 1024) / n).toFixed(0)} B, JavaScript heap (snapshot self sizes) ${(total / n).toFixed(0)} B\n\n`);
    process.stdout.write(`${'B/conn'.padStart(8)} ${'n/conn'.padStart(7)}  what\n`);
    for (const row of rows) {
      if (Math.abs(row.bytes / n) < 4) continue;
      process.stdout.write(`${(row.bytes / n).toFixed(0).padStart(8)} ${(row.count / n).toFixed(2).padStart(7)}  ${row.key}\n`);
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    if (options.keep) process.stdout.write(`\nsnapshots kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`heap-per-connection: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
