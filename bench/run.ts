/**
 * `npm run bench`: starts the chat server (and the bench relay) as separate
 * processes, drives them from forked load-generator processes over loopback,
 * and prints a table plus one `BENCH_JSON {...}` line with every number.
 *
 *   node dist/bench/run.js [--quick] [--only saturation,latency,memory,storm,locked-store,flooders,resume-storm,history]
 *                          [--duration SECONDS] [--rounds N] [--generators N] [--profile]
 *                          [--server-args "FLAGS"] [--node-flags "FLAGS"]
 *                          [--history-stores sqlite,postgres] [--history-parts saturation,latency,storm,crash]
 *   node dist/bench/run.js --cluster [--quick] [--rounds N] [--duration SECONDS] [--failover-users N] [--password-failover-users N]   (bench/cluster.ts: PostgreSQL and redis-server needed)
 *
 * Every phase has a hard timeout; the whole run has a deadline; every child
 * process is killed on the way out, however the run ends.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import {
  inTurn,
  nowMs,
  sleep,
  spread,
  summarizeLatencies,
  type ConnectResult,
  type CountersResult,
  type GenMessage,
  type GenReply,
  type GenRequest,
  type LatencySummary,
  type SaturateResult,
  type Spread,
  type WireKind,
} from './common.js';
import { formatLockedStore, LOCKED_STORE_HEAD, scenarioLockedStore, type LockedStoreResult } from './locked-store.js';
import { defaultFloodersPlan, FLOODERS_HEAD, formatFlooders, scenarioFlooders, type FloodersDeps, type FloodersResult } from './flooders.js';
import { formatResumeStorm, RESUME_STORM_HEAD, scenarioResumeStorm, type ResumeStormResult } from './resume-storm.js';
import { cleanupCluster, CLUSTER_HEAD, defaultClusterPlan, FAILOVER_HEAD, formatCluster, formatFailover, scenarioCluster, type ClusterDeps, type ClusterResult } from './cluster.js';
import { formatSummary, readProfile, summarizeProfile, type ProfileSummary } from './profile-summary.js';
import { cpuTicks, readRssKiB, TICKS_PER_SECOND, waitQuiet } from './proc.js';
import { seedUsers } from './seed.js';
import { cleanupHistory, defaultHistoryPlan, formatHistory, HISTORY_HEAD, HISTORY_PARTS, HISTORY_STORES, scenarioHistory, type HistoryDeps, type HistoryPart, type HistoryResult, type StoreKind } from './history.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const RELAY_MAIN = join(HERE, 'relay.js');
const LOADGEN_MAIN = join(HERE, 'loadgen.js');
const FLOODER_MAIN = join(HERE, 'flooder.js');

const SCENARIOS = ['saturation', 'latency', 'memory', 'storm', 'locked-store', 'flooders', 'resume-storm', 'history'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const CHAT_PASSWORD = 'bench-chat-pw';
const STORM_PASSWORD = 'bench-storm-pw';
/** A window of un-acked `say`s per sender: the server is measured, not a client-side buffer. */
const WINDOW = 8;
/** Flags that take the server's per-user and per-address limits out of the way of a load test. */
const UNLIMITED = ['--rate-limit', '0', '--max-connections', '0', '--max-per-address', '0', '--max-prelogin', '0', '--max-prelogin-per-address', '0', '--max-prelogin-per-prefix', '0', '--heartbeat', '0', '--login-timeout', '0'];
/**
 * The chat users' hashes are at cost 4, so the server runs at cost 4 too, as a
 * real server whose hashes are at its own cost: at the default 12 it would
 * rehash each of them after login (0.3 s of a hash worker each), and that
 * background CPU would be counted in the measurements. The storm sets 12.
 */
const BENCH_COST = ['--bcrypt-cost', '4'];
/** A send queue large enough that a busy generator is not dropped as a slow consumer (0 would mean unbounded). */
const BENCH_SENDQ = ['--sendq', '64MiB'];

interface Plan {
  saturationClients: number[];
  latencyLoads: LatencyLoad[];
  memoryClients: number;
  stormClients: number;
  stormChatters: number;
  stormRate: number;
  durationS: number;
  rounds: number;
  generators: number;
  deadlineS: number;
}

interface Options {
  quick: boolean;
  /** Only the cluster scenario (bench/cluster.ts). */
  cluster: boolean;
  /** Users on the instance the cluster scenario kills in its resume failover (default 1000, 50 with --quick). */
  failoverUsers: number | undefined;
  /** The same for its password failover at cost 12 (default 300, 5 with --quick). */
  passwordFailoverUsers: number | undefined;
  only: Set<ScenarioName>;
  profile: boolean;
  plan: Plan;
  /** Extra chat-server flags for every server the bench starts (e.g. to compare settings). */
  serverArgs: string[];
  /** Extra node flags for every server (e.g. --max-semi-space-size=1). */
  nodeFlags: string[];
  /** The history scenario's stores and parts. */
  historyStores: StoreKind[];
  historyParts: HistoryPart[];
  /** A built checkout (its dist/src and dist/migrations) to run as the server instead of this one's: an old build, side by side. */
  serverBuild: string | undefined;
}

/** A wrong flag or value: one line, not a stack trace. */
class BenchUsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i === -1) return undefined;
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new BenchUsageError(`${name} needs a value`);
    return value;
  };
  const known = new Set(['--cluster', '--failover-users', '--password-failover-users', '--quick', '--profile', '--only', '--duration', '--rounds', '--generators', '--server-args', '--node-flags', '--history-stores', '--history-parts', '--server-build']);
  // These two take a list of flags as one (quoted) value.
  const listAt = ['--server-args', '--node-flags'].map((name) => argv.indexOf(name));
  for (const [i, arg] of argv.entries()) if (arg.startsWith('--') && !known.has(arg) && !listAt.some((at) => at !== -1 && i === at + 1)) throw new BenchUsageError(`unknown flag ${arg}`);
  const list = (at: number, name: string): string[] => {
    if (at === -1) return [];
    const raw = argv[at + 1];
    if (raw === undefined) throw new BenchUsageError(`${name} needs a value`);
    return raw.split(/\s+/).filter((a) => a.length > 0);
  };
  const serverArgs = list(listAt[0]!, '--server-args');
  const nodeFlags = list(listAt[1]!, '--node-flags');
  const quick = argv.includes('--quick');
  const plan: Plan = quick
    ? {
        saturationClients: [50, 200],
        latencyLoads: [
          { clients: 50, rate: 500, arrivals: 'bursts' },
          { clients: 200, rate: 100, arrivals: 'bursts' },
          { clients: 50, rate: 500, arrivals: 'staggered' },
        ],
        memoryClients: 500,
        stormClients: 20,
        stormChatters: 20,
        stormRate: 100,
        durationS: 2,
        rounds: 1,
        generators: 2,
        deadlineS: 180,
      }
    : {
        saturationClients: [100, 1000],
        latencyLoads: [
          { clients: 100, rate: 2000, arrivals: 'bursts' },
          { clients: 1000, rate: 200, arrivals: 'bursts' },
          { clients: 100, rate: 2000, arrivals: 'staggered' },
          { clients: 1000, rate: 200, arrivals: 'staggered' },
        ],
        memoryClients: 5000,
        stormClients: 500,
        stormChatters: 100,
        stormRate: 200,
        durationS: 5,
        rounds: 3,
        generators: 3,
        deadlineS: 1500,
      };
  const positive = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new BenchUsageError(`${name} must be a positive number`);
    return value;
  };
  plan.durationS = positive('--duration', flag('--duration'), plan.durationS);
  plan.rounds = Math.round(positive('--rounds', flag('--rounds'), plan.rounds));
  plan.generators = Math.round(positive('--generators', flag('--generators'), plan.generators));
  const onlyRaw = flag('--only');
  const only = new Set<ScenarioName>();
  for (const name of onlyRaw === undefined ? SCENARIOS : onlyRaw.split(',')) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new BenchUsageError(`--only: unknown scenario ${name} (known: ${SCENARIOS.join(', ')})`);
    only.add(name as ScenarioName);
  }
  // Every scenario is bounded; the deadline is a last resort that grows with the requested work.
  plan.deadlineS += plan.rounds * plan.durationS * 12;
  // History: two stores, each with saturation, two latency loads, login storms and kill -9 rounds.
  if (only.has('history')) plan.deadlineS += (quick ? 300 : 900) + plan.rounds * plan.durationS * 30;
  const cluster = argv.includes('--cluster');
  if (cluster && onlyRaw !== undefined) throw new BenchUsageError('--cluster runs the cluster scenario alone: drop --only');
  if (cluster) only.clear();
  // The cluster scenario bounds its own phases (failover at cost 12 can take minutes); this is the last resort above them.
  if (cluster) plan.deadlineS = quick ? 170 : 2400;
  const failoverRaw = flag('--failover-users');
  if (failoverRaw !== undefined && !cluster) throw new BenchUsageError('--failover-users is a flag of --cluster');
  const failoverUsers = failoverRaw === undefined ? undefined : Math.round(positive('--failover-users', failoverRaw, 1));
  const passwordRaw = flag('--password-failover-users');
  if (passwordRaw !== undefined && !cluster) throw new BenchUsageError('--password-failover-users is a flag of --cluster');
  const passwordFailoverUsers = passwordRaw === undefined ? undefined : Math.round(positive('--password-failover-users', passwordRaw, 1));
  // A quick run asked for many failover users needs the full run's phase bounds for that phase.
  if ((failoverUsers !== undefined || passwordFailoverUsers !== undefined) && quick) plan.deadlineS = 170 + 600;
  const subset = <T extends string>(name: string, all: readonly T[]): T[] => {
    const raw = flag(name);
    if (raw === undefined) return [...all];
    const picked = raw.split(',');
    for (const p of picked) if (!(all as readonly string[]).includes(p)) throw new BenchUsageError(`${name}: unknown ${p} (known: ${all.join(', ')})`);
    return picked as T[];
  };
  const historyStores = subset('--history-stores', HISTORY_STORES);
  const historyParts = subset('--history-parts', HISTORY_PARTS);
  return { quick, cluster, failoverUsers, passwordFailoverUsers, only, profile: argv.includes('--profile'), plan, serverArgs, nodeFlags, historyStores, historyParts, serverBuild: flag('--server-build') === undefined ? undefined : resolve(flag('--server-build')!) };
}

// ---- child processes ----

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

interface Listener {
  child: ChildProcess;
  port: number;
  pid: number;
  /** Last lines of stderr, for error reports. */
  stderrTail: string[];
  stop(): Promise<void>;
}

/** Spawns a process that prints "listening on HOST:PORT" when ready; rejects after `timeoutMs`. */
function spawnListener(label: string, args: string[], timeoutMs: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    const stderrTail: string[] = [];
    let out = '';
    let found = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not report listening within ${timeoutMs} ms: ${stderrTail.join(' | ')}`));
    }, timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderrTail.push(...text.split('\n').filter((l) => l.length > 0));
      stderrTail.splice(0, Math.max(0, stderrTail.length - 10));
    });
    // The server logs a line per connect and login: keep reading so it never blocks on a full pipe.
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      if (found) return;
      out += text;
      const match = /listening on [\d.]+:(\d+)/.exec(out);
      if (match === null) return;
      found = true;
      clearTimeout(timer);
      const stop = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        if (!(await waitExit(child, 10_000))) {
          child.kill('SIGKILL');
          await waitExit(child, 2000);
        }
      };
      resolve({ child, port: Number(match[1]), pid: child.pid!, stderrTail, stop });
    });
    child.on('exit', (code, signal) => {
      if (found) return;
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code ?? signal}) before listening: ${stderrTail.join(' | ')}`));
    });
  });
}

let dbTemplate = '';
let workDir = '';
let serverMain = '';
let serverCount = 0;
let serverArgs: string[] = [];
let serverNodeFlags: string[] = [];

/**
 * Copies the built server into the work folder and runs it from there: others
 * rebuilding dist/ during a long run must not swap the program under test
 * (or half-write it) between two scenarios.
 */
function snapshotServer(build = ROOT): string {
  const app = join(workDir, 'app');
  for (const part of ['src', 'migrations']) cpSync(join(build, 'dist', part), join(app, 'dist', part), { recursive: true });
  copyFileSync(join(build, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
  const main = join(app, 'dist', 'src', 'server', 'main.js');
  if (build !== ROOT) {
    // An older build does not know every limit flag the bench sets: it runs without those (it has not got the limits either).
    const help = execFileSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
    serverFlagsKnown = new Set(help.match(/--[a-z0-9-]+/g) ?? []);
  }
  return main;
}

/** The flags the server build knows, when it is not this checkout's (undefined: all of them). */
let serverFlagsKnown: Set<string> | undefined;

/** `flag value` pairs without those the server build does not know. */
function knownPairs(pairs: readonly string[]): string[] {
  if (serverFlagsKnown === undefined) return [...pairs];
  const kept: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) if (serverFlagsKnown.has(pairs[i]!)) kept.push(pairs[i]!, pairs[i + 1]!);
  return kept;
}

/**
 * A chat server at the bench's limits, `extra` flags after them. Its store is
 * `opts.db` (a SQLite file or a PostgreSQL URL, used as it is) or else a fresh
 * copy of the template database (`server-N.db` in the work folder).
 */
async function startServer(extra: string[] = [], opts: { nodeFlags?: string[]; db?: string } = {}): Promise<Listener & { db: string }> {
  serverCount += 1;
  let db = opts.db;
  if (db === undefined) {
    db = join(workDir, `server-${serverCount}.db`);
    copyFileSync(dbTemplate, db);
  }
  const listener = await spawnListener('chat-server', [...serverNodeFlags, ...(opts.nodeFlags ?? []), serverMain, '--host', '127.0.0.1', '--port', '0', '--db', db, ...knownPairs(UNLIMITED), ...BENCH_COST, ...extra, ...serverArgs], 30_000);
  return { ...listener, db };
}

function startRelay(): Promise<Listener> {
  return spawnListener('relay', [RELAY_MAIN], 10_000);
}

class Generator {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;

  constructor(readonly index: number) {
    this.#child = fork(LOADGEN_MAIN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(this.#child);
    this.#child.on('message', (reply: GenReply) => {
      const waiting = this.#pending.get(reply.id);
      if (waiting === undefined) return;
      this.#pending.delete(reply.id);
      clearTimeout(waiting.timer);
      if (reply.ok) waiting.resolve(reply.result);
      else waiting.reject(new Error(`generator ${index}: ${reply.error}`));
    });
    this.#child.on('exit', (code) => {
      children.delete(this.#child);
      for (const waiting of this.#pending.values()) {
        clearTimeout(waiting.timer);
        waiting.reject(new Error(`generator ${index} exited (${code})`));
      }
      this.#pending.clear();
    });
  }

  call<T>(req: GenRequest, timeoutMs: number): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`generator ${this.index}: ${req.cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#child.send({ id, req } satisfies GenMessage);
    });
  }

  async exit(): Promise<void> {
    await this.call({ cmd: 'exit' }, 2000).catch(() => undefined);
    if (!(await waitExit(this.#child, 3000))) this.#child.kill('SIGKILL');
  }
}

let generators: Generator[] = [];

/** Splits `total` into one share per generator (the first ones get the remainder). */
function shares(total: number, parts = generators.length): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

function callAll<T>(make: (gen: Generator, i: number) => GenRequest | undefined, timeoutMs: number): Promise<T[]> {
  return Promise.all(
    generators.map((gen, i) => {
      const req = make(gen, i);
      return req === undefined ? Promise.resolve(undefined as T) : gen.call<T>(req, timeoutMs);
    }),
  );
}

interface Connected {
  ready: number;
  failed: number;
  busy: number;
  seconds: number;
  loginsPerSecond: number;
  loginMs: LatencySummary;
  errors: string[];
}

async function connectAll(
  group: string,
  port: number,
  kind: WireKind,
  usernames: string[],
  password: string,
  opts: { concurrencyPerGen: number; samplers: number; timeoutMs: number; ports?: number[]; replay?: number },
): Promise<Connected> {
  const parts = shares(usernames.length);
  const samplerParts = shares(opts.samplers);
  let offset = 0;
  const slices = parts.map((n) => {
    const slice = usernames.slice(offset, offset + n);
    offset += n;
    return slice;
  });
  const results = await callAll<ConnectResult>(
    (_, i) => ({
      cmd: 'connect',
      group,
      port,
      ...(opts.ports === undefined ? {} : { ports: opts.ports }),
      kind,
      usernames: slices[i]!,
      password,
      concurrency: opts.concurrencyPerGen,
      samplers: samplerParts[i]!,
      timeoutMs: opts.timeoutMs,
      ...(opts.replay === undefined ? {} : { replay: opts.replay }),
    }),
    opts.timeoutMs + 5000,
  );
  const ready = results.reduce((n, r) => n + r.ready, 0);
  const started = Math.min(...results.map((r) => r.startedAt));
  const last = Math.max(...results.map((r) => r.lastReadyAt));
  const seconds = Math.max(0.001, (last - started) / 1000);
  return {
    ready,
    failed: results.reduce((n, r) => n + r.failed, 0),
    busy: results.reduce((n, r) => n + r.busy, 0),
    seconds,
    loginsPerSecond: ready / seconds,
    loginMs: summarizeLatencies(results.flatMap((r) => r.loginMs)),
    errors: results.flatMap((r) => r.errors).slice(0, 5),
  };
}

async function totals(group: string, reset = false): Promise<CountersResult> {
  const all = await callAll<CountersResult>(() => ({ cmd: 'counters', group, reset }), 5000);
  return all.reduce(
    (sum, c) => ({
      received: sum.received + c.received,
      sent: sum.sent + c.sent,
      acks: sum.acks + c.acks,
      dropped: sum.dropped + c.dropped,
      byes: sum.byes + c.byes,
      ready: sum.ready + c.ready,
    }),
    { received: 0, sent: 0, acks: 0, dropped: 0, byes: 0, ready: 0 },
  );
}

async function closeGroup(group: string): Promise<void> {
  await callAll(() => ({ cmd: 'close', group }), 10_000);
}

async function collectLatencies(group: string): Promise<number[]> {
  const lists = await callAll<number[]>(() => ({ cmd: 'latencies', group }), 10_000);
  return lists.flat();
}

/** Waits until every message sent has reached every other client, or `timeoutMs` passes. */
async function drain(group: string, clients: number, timeoutMs: number): Promise<{ expected: number; received: number; lost: number; drainMs: number; dropped: number }> {
  const started = nowMs();
  let t = await totals(group);
  const expected = () => t.sent * (clients - 1);
  while (t.received < expected() && nowMs() - started < timeoutMs) {
    await sleep(100);
    t = await totals(group);
  }
  return { expected: expected(), received: t.received, lost: expected() - t.received, drainMs: nowMs() - started, dropped: t.dropped };
}

/** Write-type system calls (write, writev, sendmsg...) the process has made, every thread (`syscw` of /proc/PID/io). */
function writeSyscalls(pid: number): number {
  return Number(/^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

/** CPU time (ms, every thread, user + system) the process spends from `startMs` from now, for `forMs`. */
async function cpuDuring(pid: number, startMs: number, forMs: number): Promise<number> {
  return (await usageDuring(pid, startMs, forMs)).cpuMs;
}

/** CPU time (ms) and write system calls of the process from `startMs` from now, for `forMs`. */
async function usageDuring(pid: number, startMs: number, forMs: number): Promise<{ cpuMs: number; mainCpuMs: number; writes: number }> {
  await sleep(startMs);
  const before = cpuTicks(pid);
  const mainBefore = cpuTicks(pid, true);
  const writesBefore = writeSyscalls(pid);
  await sleep(forMs);
  const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
  return { cpuMs: ms(cpuTicks(pid) - before), mainCpuMs: ms(cpuTicks(pid, true) - mainBefore), writes: writeSyscalls(pid) - writesBefore };
}

/** Waits until the process uses under 5% of a core over 500 ms (or `timeoutMs` passes). */
const names = (prefix: string, count: number, from = 0) => Array.from({ length: count }, (_, i) => `${prefix}${String(from + i).padStart(5, '0')}`);

// ---- scenarios ----

interface SaturationRound {
  /** What was measured: `server` or `relay`, or the history scenario's `on` / `off`. */
  target: string;
  deliveriesPerSecond: number;
  drainedPerSecond: number;
  sent: number;
  expected: number;
  received: number;
  lost: number;
  dropped: number;
  drainMs: number;
  /** The target's CPU time over the measured interval, and per delivery (µs). */
  cpuMs: number;
  cpuPerDeliveryUs: number;
  /** The same for the target's main thread alone (the server's event loop: without its store and hash worker threads). */
  mainCpuPerDeliveryUs: number;
  /** The target's write system calls over the measured interval, per delivery. */
  writesPerDelivery: number;
  /** The measured interval, on the monotonic clock (ms). */
  t0: number;
  t1: number;
}

interface SaturationResult {
  clients: number;
  senders: number;
  window: number;
  rounds: SaturationRound[];
  server: Spread;
  relay: Spread;
  ratio: Spread;
  serverCpu: Spread;
  relayCpu: Spread;
  /** Server CPU per delivery over the relay's, round by round. */
  cpuRatio: Spread;
  serverWrites: Spread;
  relayWrites: Spread;
  lost: number;
}

async function measureSaturation(group: string, target: string, pid: number, clients: number, senders: number, plan: Plan): Promise<SaturationRound> {
  await totals(group, true);
  const warmupMs = 1000;
  const durationMs = plan.durationS * 1000;
  const senderShares = shares(senders);
  const usage = usageDuring(pid, warmupMs, durationMs);
  const results = await callAll<SaturateResult>(
    (_, i) => ({ cmd: 'saturate', group, senders: senderShares[i]!, window: WINDOW, warmupMs, durationMs }),
    warmupMs + durationMs + 15_000,
  );
  const { cpuMs, mainCpuMs, writes } = await usage;
  const delivered = results.reduce((n, r) => n + (r.r1 - r.r0), 0);
  const seconds = results.reduce((n, r) => n + (r.t1 - r.t0), 0) / results.length / 1000;
  const drained = await drain(group, clients, 20_000);
  const sendSeconds = (warmupMs + durationMs) / 1000;
  return {
    target,
    deliveriesPerSecond: delivered / seconds,
    drainedPerSecond: drained.received / (sendSeconds + drained.drainMs / 1000),
    sent: results.reduce((n, r) => n + r.sent, 0),
    expected: drained.expected,
    received: drained.received,
    lost: drained.lost,
    dropped: drained.dropped,
    drainMs: drained.drainMs,
    cpuMs,
    cpuPerDeliveryUs: (cpuMs * 1000) / Math.max(1, delivered),
    mainCpuPerDeliveryUs: (mainCpuMs * 1000) / Math.max(1, delivered),
    writesPerDelivery: writes / Math.max(1, delivered),
    t0: Math.min(...results.map((r) => r.t0)),
    t1: Math.max(...results.map((r) => r.t1)),
  };
}

/** One measured saturation round of one target (group `group`, process `pid`), logged. */
async function saturationRound(group: string, target: string, pid: number, clients: number, plan: Plan, log: (line: string) => void, r: number): Promise<SaturationRound> {
  const round = await measureSaturation(group, target, pid, clients, sendersFor(clients), plan);
  log(`  round ${r + 1} ${target}: ${fmtRate(round.deliveriesPerSecond)} deliveries/s, ${round.cpuPerDeliveryUs.toFixed(2)} µs CPU and ${round.writesPerDelivery.toFixed(4)} writes per delivery, lost ${round.lost}, drain ${round.drainMs.toFixed(0)} ms`);
  return round;
}

function sendersFor(clients: number): number {
  return Math.min(100, Math.max(1, Math.round(clients / 10)));
}

async function scenarioSaturation(clients: number, plan: Plan, log: (line: string) => void): Promise<SaturationResult> {
  const server = await startServer(BENCH_SENDQ);
  const relay = await startRelay();
  try {
    const users = names('b', clients);
    const conn = { concurrencyPerGen: 50, samplers: 0, timeoutMs: 120_000 };
    const atRelay = await connectAll('relay', relay.port, 'raw', users, '', conn);
    const atServer = await connectAll('server', server.port, 'json', users, CHAT_PASSWORD, conn);
    if (atRelay.ready !== clients || atServer.ready !== clients) {
      throw new Error(`saturation ${clients}: relay ${atRelay.ready}, server ${atServer.ready} of ${clients} ready (${[...atRelay.errors, ...atServer.errors].join('; ')})`);
    }
    log(`  ${clients} clients ready at relay and server (server logins ${atServer.loginsPerSecond.toFixed(0)}/s)`);
    await sleep(1000);
    await totals('server', true);
    const senders = sendersFor(clients);
    const rounds: SaturationRound[] = [];
    const targets = [
      { name: 'relay', pid: relay.pid },
      { name: 'server', pid: server.pid },
    ];
    await inTurn(targets, plan.rounds, async (target, r) => {
      const round = await saturationRound(target.name, target.name, target.pid, clients, plan, log, r);
      rounds.push(round);
    });
    const of = (t: string) => rounds.filter((x) => x.target === t).map((x) => x.deliveriesPerSecond);
    const serverRates = of('server');
    const relayRates = of('relay');
    const cpuOf = (t: string) => rounds.filter((x) => x.target === t).map((x) => x.cpuPerDeliveryUs);
    const serverCpu = cpuOf('server');
    const relayCpu = cpuOf('relay');
    return {
      clients,
      senders,
      window: WINDOW,
      rounds,
      server: spread(serverRates),
      relay: spread(relayRates),
      ratio: spread(serverRates.map((s, i) => s / relayRates[i]!)),
      serverCpu: spread(serverCpu),
      relayCpu: spread(relayCpu),
      cpuRatio: spread(serverCpu.map((s, i) => s / relayCpu[i]!)),
      serverWrites: spread(rounds.filter((x) => x.target === 'server').map((x) => x.writesPerDelivery)),
      relayWrites: spread(rounds.filter((x) => x.target === 'relay').map((x) => x.writesPerDelivery)),
      lost: rounds.reduce((n, x) => n + x.lost, 0),
    };
  } finally {
    await closeGroup('relay').catch(() => undefined);
    await closeGroup('server').catch(() => undefined);
    await relay.stop();
    await server.stop();
  }
}

interface LatencyRound extends LatencySummary {
  sent: number;
  lost: number;
  /** The target's CPU time over the measured interval, and per delivery (µs). */
  cpuMs: number;
  cpuPerDeliveryUs: number;
  /** The target's write system calls over the measured interval, per delivery. */
  writesPerDelivery: number;
}

interface LatencyTarget {
  rounds: LatencyRound[];
  p50: Spread;
  p99: Spread;
  max: Spread;
  cpu: Spread;
  writes: Spread;
}

/**
 * How the paced senders' messages arrive. `bursts`: the 20 senders of a
 * generator send together, once per period (the bench's pacing until
 * 2026-12-01: 20 messages within a millisecond, every 10 ms at 2000 msg/s).
 * `staggered`: each sender (across all generators) at its own phase of the
 * period, checked every millisecond, so messages trickle in one or two at a
 * time, as independent users' do: the case issue 14's CPU goals are about.
 */
type Arrivals = 'bursts' | 'staggered';

interface LatencyLoad {
  clients: number;
  rate: number;
  arrivals: Arrivals;
}

interface LatencyResult {
  clients: number;
  rate: number;
  arrivals: Arrivals;
  senders: number;
  samplers: number;
  server: LatencyTarget;
  /** The same paced load through the bench relay: the floor this machine and the generators set. */
  relay: LatencyTarget;
  /** Server CPU per delivery over the relay's, round by round. */
  cpuRatio: Spread;
}

const LATENCY_SENDERS = 20;
const LATENCY_SAMPLERS = 10;

interface PacedWindow {
  samples: number[];
  /** Target CPU time, write system calls and deliveries over the measured part. */
  cpuMs: number;
  writes: number;
  deliveries: number;
}

async function pacedWindow(group: string, pid: number, senders: number, rate: number, warmupMs: number, measureMs: number, arrivals: Arrivals = 'bursts'): Promise<PacedWindow> {
  const perSender = shares(senders);
  const spread = (slot: number) => (arrivals === 'staggered' ? { stagger: true, staggerSlot: slot, staggerOf: generators.length, tickMs: 1 } : {});
  await callAll((_, i) => ({ cmd: 'paceStart', group, senders: perSender[i]!, rate, ...spread(i) }), 5000);
  await sleep(warmupMs);
  await collectLatencies(group);
  const received0 = (await totals(group)).received;
  const { cpuMs, writes } = await usageDuring(pid, 0, measureMs);
  const deliveries = (await totals(group)).received - received0;
  const samples = await collectLatencies(group);
  await callAll(() => ({ cmd: 'paceStop', group }), 5000);
  return { samples, cpuMs, writes, deliveries };
}

async function measureLatency(group: string, pid: number, load: LatencyLoad, plan: Plan): Promise<LatencyRound> {
  const { clients, rate } = load;
  await totals(group, true);
  const paced = await pacedWindow(group, pid, LATENCY_SENDERS, rate / LATENCY_SENDERS, 1000, plan.durationS * 1000, load.arrivals);
  const { samples } = paced;
  const drained = await drain(group, clients, 10_000);
  samples.push(...(await collectLatencies(group)));
  return {
    ...summarizeLatencies(samples),
    sent: drained.expected / (clients - 1),
    lost: drained.lost,
    cpuMs: paced.cpuMs,
    cpuPerDeliveryUs: (paced.cpuMs * 1000) / Math.max(1, paced.deliveries),
    writesPerDelivery: paced.writes / Math.max(1, paced.deliveries),
  };
}

/** One measured latency round of one target, logged. */
async function latencyRound(group: string, target: string, pid: number, load: LatencyLoad, plan: Plan, log: (line: string) => void, r: number): Promise<LatencyRound> {
  const round = await measureLatency(group, pid, load, plan);
  log(
    `  round ${r + 1} ${target}: p50 ${round.p50.toFixed(2)} ms, p99 ${round.p99.toFixed(2)} ms, max ${round.max.toFixed(2)} ms, ${round.cpuPerDeliveryUs.toFixed(2)} µs CPU and ${round.writesPerDelivery.toFixed(3)} writes per delivery (${round.samples} samples, lost ${round.lost})`,
  );
  return round;
}

function latencyTarget(rounds: LatencyRound[]): LatencyTarget {
  const of = (pick: (x: LatencyRound) => number) => spread(rounds.map(pick));
  return { rounds, p50: of((x) => x.p50), p99: of((x) => x.p99), max: of((x) => x.max), cpu: of((x) => x.cpuPerDeliveryUs), writes: of((x) => x.writesPerDelivery) };
}

async function scenarioLatency(load: LatencyLoad, plan: Plan, log: (line: string) => void): Promise<LatencyResult> {
  const { clients, rate } = load;
  const server = await startServer();
  const relay = await startRelay();
  try {
    const opts = { concurrencyPerGen: 50, samplers: LATENCY_SAMPLERS, timeoutMs: 120_000 };
    const atRelay = await connectAll('relay', relay.port, 'raw', names('b', clients), '', opts);
    const atServer = await connectAll('server', server.port, 'json', names('b', clients), CHAT_PASSWORD, opts);
    if (atRelay.ready !== clients || atServer.ready !== clients) {
      throw new Error(`latency ${clients}: relay ${atRelay.ready}, server ${atServer.ready} of ${clients} ready (${[...atRelay.errors, ...atServer.errors].join('; ')})`);
    }
    log(`  ${clients} clients ready at relay and server (server: ${atServer.seconds.toFixed(1)} s, ${atServer.busy} server_busy retried)`);
    await sleep(1000);
    const targets = [
      { name: 'relay', pid: relay.pid },
      { name: 'server', pid: server.pid },
    ];
    const measured = await inTurn(targets, plan.rounds, (target, r) => latencyRound(target.name, target.name, target.pid, load, plan, log, r));
    const rounds = { relay: measured.get(targets[0]!)!, server: measured.get(targets[1]!)! };
    return {
      clients,
      rate,
      arrivals: load.arrivals,
      senders: LATENCY_SENDERS,
      samplers: LATENCY_SAMPLERS,
      server: latencyTarget(rounds.server),
      relay: latencyTarget(rounds.relay),
      cpuRatio: spread(rounds.server.map((s, i) => s.cpuPerDeliveryUs / rounds.relay[i]!.cpuPerDeliveryUs)),
    };
  } finally {
    await closeGroup('relay').catch(() => undefined);
    await closeGroup('server').catch(() => undefined);
    await relay.stop();
    await server.stop();
  }
}

interface MemoryResult {
  clients: number;
  ready: number;
  /** How long the server was left idle before each reading (after it went quiet). */
  idleMs: number;
  /** Read as soon as the server went quiet, before the idle wait (what this bench reported before 2026-12-01 17:00). */
  rssBeforeAtOnceKiB: number;
  rssAfterAtOnceKiB: number;
  perConnectionAtOnceBytes: number;
  rssBeforeKiB: number;
  /** After the first half logged in. */
  rssMiddleKiB: number;
  rssAfterKiB: Spread;
  peakKiB: number;
  perConnectionBytes: Spread;
  /** RSS growth per connection over the second half: the cost of one more connection. */
  marginalPerConnectionBytes: number;
  loginsPerSecond: number;
  settleMs: number;
  serverAlive: boolean;
  dropped: number;
}

/**
 * How long the memory scenario leaves the server idle before it reads RSS: an
 * idle server is what it measures, and a server (or V8, for its old
 * generation: the memory reducer) gives memory back a few seconds after a
 * burst, not in the same second. The reading as soon as it went quiet is
 * kept too (`atOnce`).
 */
const MEMORY_IDLE_MS = 15_000;

async function scenarioMemory(clients: number, log: (line: string) => void): Promise<MemoryResult> {
  // Heartbeats on (the default 30 s), as for a real idle client: their timers are part of the cost.
  const server = await startServer(['--heartbeat', '30s']);
  const settledRss = async (): Promise<{ atOnce: number; idle: number }> => {
    // Every login is announced to everyone already in: let that fan-out finish before reading RSS.
    await waitQuiet(server.pid, 60_000);
    const atOnce = readRssKiB(server.pid).rss;
    await sleep(MEMORY_IDLE_MS);
    const readings: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      readings.push(readRssKiB(server.pid).rss);
      await sleep(1000);
    }
    return { atOnce, idle: spread(readings).median };
  };
  try {
    await sleep(1000);
    const start = await settledRss();
    const before = start.idle;
    // Two halves: the average over all includes V8's young generation, which grows to its
    // fixed maximum during any burst of logins; the second half's growth is the cost per connection.
    const half = Math.floor(clients / 2);
    const first = await connectAll('mem', server.port, 'json', names('b', clients).slice(0, half), CHAT_PASSWORD, { concurrencyPerGen: 64, samplers: 0, timeoutMs: 360_000 });
    const middle = (await settledRss()).idle;
    const second = await connectAll('mem2', server.port, 'json', names('b', clients).slice(half), CHAT_PASSWORD, { concurrencyPerGen: 64, samplers: 0, timeoutMs: 360_000 });
    const seconds = first.seconds + second.seconds;
    log(`  ${first.ready + second.ready} of ${clients} logged in in ${seconds.toFixed(1)} s (${first.busy + second.busy} busy retries${[...first.errors, ...second.errors].length > 0 ? `; ${[...first.errors, ...second.errors].join('; ')}` : ''})`);
    const settleStarted = nowMs();
    const end = await settledRss();
    const after = end.idle;
    const settleMs = nowMs() - settleStarted;
    const readings = [after, readRssKiB(server.pid).rss];
    const peak = readRssKiB(server.pid).hwm;
    const [t1, t2] = [await totals('mem'), await totals('mem2')];
    const ready = t1.ready + t2.ready;
    const alive = server.child.exitCode === null && server.child.signalCode === null;
    return {
      clients,
      ready,
      idleMs: MEMORY_IDLE_MS,
      rssBeforeAtOnceKiB: start.atOnce,
      rssAfterAtOnceKiB: end.atOnce,
      perConnectionAtOnceBytes: ((end.atOnce - start.atOnce) * 1024) / Math.max(1, ready),
      rssBeforeKiB: before,
      rssMiddleKiB: middle,
      rssAfterKiB: spread(readings),
      peakKiB: peak,
      perConnectionBytes: spread(readings.map((kib) => ((kib - before) * 1024) / Math.max(1, ready))),
      marginalPerConnectionBytes: ((after - middle) * 1024) / Math.max(1, t2.ready),
      loginsPerSecond: ready / Math.max(0.001, seconds),
      settleMs,
      serverAlive: alive,
      dropped: t1.dropped + t2.dropped,
    };
  } finally {
    await closeGroup('mem').catch(() => undefined);
    await closeGroup('mem2').catch(() => undefined);
    await server.stop();
  }
}

interface StormResult {
  stormClients: number;
  chatters: number;
  chatRate: number;
  loggedIn: number;
  failed: number;
  busyRefusals: number;
  seconds: number;
  loginsPerSecond: number;
  timeToLogin: LatencySummary;
  chatBefore: LatencySummary;
  chatDuring: LatencySummary;
  /** p99 of each second of the storm. */
  chatP99PerSecond: Spread;
  chatLost: number;
  errors: string[];
}

async function scenarioStorm(plan: Plan, log: (line: string) => void): Promise<StormResult> {
  // Default login queue, hash workers and cost: the storm is about the server's own limits.
  const server = await startServer(['--bcrypt-cost', '12']);
  try {
    const chat = await connectAll('chat', server.port, 'json', names('b', plan.stormChatters), CHAT_PASSWORD, { concurrencyPerGen: 50, samplers: LATENCY_SAMPLERS, timeoutMs: 60_000 });
    if (chat.ready !== plan.stormChatters) throw new Error(`storm: ${chat.ready} of ${plan.stormChatters} chatters ready (${chat.errors.join('; ')})`);
    await totals('chat', true);
    const chatSenders = Math.min(10, plan.stormChatters);
    const perSender = shares(chatSenders);
    await callAll((_, i) => ({ cmd: 'paceStart', group: 'chat', senders: perSender[i]!, rate: plan.stormRate / chatSenders }), 5000);
    await sleep(1000);
    await collectLatencies('chat');
    await sleep(3000);
    const before = await collectLatencies('chat');
    // The storm: every storm client connects and logs in at once; busy answers are retried after a backoff.
    let stormDone = false;
    const perSecondP99: number[] = [];
    const during: number[] = [];
    const sampler = (async () => {
      while (!stormDone) {
        await sleep(1000);
        const samples = await collectLatencies('chat');
        during.push(...samples);
        if (samples.length > 0) perSecondP99.push(summarizeLatencies(samples).p99);
      }
    })();
    const storm = await connectAll('storm', server.port, 'json', names('s', plan.stormClients), STORM_PASSWORD, {
      concurrencyPerGen: plan.stormClients,
      samplers: 0,
      timeoutMs: 420_000,
    });
    stormDone = true;
    await sampler;
    during.push(...(await collectLatencies('chat')));
    await callAll(() => ({ cmd: 'paceStop', group: 'chat' }), 5000);
    const drained = await drain('chat', plan.stormChatters + 0, 10_000);
    log(`  ${storm.ready} of ${plan.stormClients} logged in in ${storm.seconds.toFixed(1)} s, ${storm.busy} server_busy refusals retried`);
    return {
      stormClients: plan.stormClients,
      chatters: plan.stormChatters,
      chatRate: plan.stormRate,
      loggedIn: storm.ready,
      failed: storm.failed,
      busyRefusals: storm.busy,
      seconds: storm.seconds,
      loginsPerSecond: storm.loginsPerSecond,
      timeToLogin: storm.loginMs,
      chatBefore: summarizeLatencies(before),
      chatDuring: summarizeLatencies(during),
      chatP99PerSecond: spread(perSecondP99),
      // Chat messages also reach the storm clients once they are in: count only the chatters' own group.
      chatLost: Math.max(0, drained.lost),
      errors: storm.errors,
    };
  } finally {
    await closeGroup('storm').catch(() => undefined);
    await closeGroup('chat').catch(() => undefined);
    await server.stop();
  }
}

interface ProfileResult {
  file: string;
  clients: number;
  deliveriesPerSecond: number;
  window: { fromUs: number; toUs: number };
  summary: ProfileSummary;
}

async function profileSaturation(clients: number, plan: Plan): Promise<ProfileResult> {
  const dir = join(workDir, 'cpuprofile');
  mkdirSync(dir, { recursive: true });
  const server = await startServer(BENCH_SENDQ, { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
  let round: SaturationRound;
  try {
    const conn = await connectAll('prof', server.port, 'json', names('b', clients), CHAT_PASSWORD, { concurrencyPerGen: 50, samplers: 0, timeoutMs: 120_000 });
    if (conn.ready !== clients) throw new Error(`profile: ${conn.ready} of ${clients} ready (${conn.errors.join('; ')})`);
    await sleep(500);
    round = await measureSaturation('prof', 'server', server.pid, clients, sendersFor(clients), plan);
  } finally {
    await closeGroup('prof').catch(() => undefined);
    await sleep(500);
    await server.stop();
  }
  // One file per thread (bcrypt workers too); the main thread's is the one with thread id 0.
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const main = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  if (main === undefined) throw new Error('no .cpuprofile was written');
  const file = join(dir, main);
  // Only the measured interval: server start-up and the logins are not what this profile is for.
  const window = { fromUs: round.t0 * 1000, toUs: round.t1 * 1000 };
  return { file, clients, deliveriesPerSecond: round.deliveriesPerSecond, window, summary: summarizeProfile(readProfile(file), 25, window) };
}

/** What the flooders scenario (bench/flooders.ts) needs from this orchestrator. */
function floodersDeps(log: (line: string) => void): FloodersDeps {
  const group = 'flood';
  return {
    startServer: (extra) => startServer(extra),
    connectChatters: (port, usernames, samplers) => connectAll(group, port, 'json', usernames, CHAT_PASSWORD, { concurrencyPerGen: 50, samplers, timeoutMs: 120_000 }),
    paceStart: async (senders, rate) => {
      const perGen = shares(senders);
      await callAll((_, i) => ({ cmd: 'paceStart', group, senders: perGen[i]!, rate, stagger: true }), 5000);
    },
    paceStop: async () => {
      await callAll(() => ({ cmd: 'paceStop', group }), 5000);
    },
    latencies: () => collectLatencies(group),
    dropped: async () => (await totals(group)).dropped,
    closeChatters: () => closeGroup(group),
    cpuMs: (pid, forMs) => cpuDuring(pid, 0, forMs),
    forkFlooder: () => {
      const child = fork(FLOODER_MAIN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    users: (from, count) => names('b', count, from),
    password: CHAT_PASSWORD,
    log,
  };
}

/** What the cluster scenario (bench/cluster.ts) needs from this orchestrator. */
function clusterDeps(log: (line: string) => void): ClusterDeps {
  return {
    start: (args) => spawnListener('chat-server', [...serverNodeFlags, serverMain, ...args, ...serverArgs], 30_000),
    track: (child) => {
      children.add(child);
      child.on('exit', () => children.delete(child));
    },
    connect: (group, ports, usernames, samplers) => connectAll(group, ports[0]!, 'json', usernames, CHAT_PASSWORD, { concurrencyPerGen: 50, samplers, timeoutMs: 120_000, ports }),
    saturate: (group, senders, warmupMs, durationMs) => {
      const perGen = shares(senders);
      return callAll<SaturateResult>((_, i) => ({ cmd: 'saturate', group, senders: perGen[i]!, window: WINDOW, warmupMs, durationMs }), warmupMs + durationMs + 15_000);
    },
    paceStart: async (group, senders, rate) => {
      const perGen = shares(senders);
      await callAll((_, i) => ({ cmd: 'paceStart', group, senders: perGen[i]!, rate }), 5000);
    },
    paceStop: async (group) => {
      await callAll(() => ({ cmd: 'paceStop', group }), 5000);
    },
    totals,
    latencies: collectLatencies,
    close: closeGroup,
    limits: [...UNLIMITED, ...BENCH_COST, ...BENCH_SENDQ],
    users: (count) => names('b', count),
    password: CHAT_PASSWORD,
    log,
  };
}

/** What the history scenario (bench/history.ts) needs from this orchestrator. */
function historyDeps(plan: Plan, log: (line: string) => void): HistoryDeps {
  return {
    startServer: (extra, db) => startServer(extra, { db }),
    connect: (group, port, usernames, opts) =>
      connectAll(group, port, 'json', usernames, CHAT_PASSWORD, {
        concurrencyPerGen: opts.atOnce ? usernames.length : 50,
        samplers: opts.samplers,
        timeoutMs: 300_000,
        ...(opts.replay === undefined ? {} : { replay: opts.replay }),
      }),
    close: closeGroup,
    saturationRound: (group, target, pid, clients, r) => saturationRound(group, target, pid, clients, plan, log, r),
    latencyRound: (group, target, pid, clients, rate, r) => latencyRound(group, target, pid, { clients, rate, arrivals: 'bursts' }, plan, log, r),
    quiet: async (pid) => {
      await waitQuiet(pid, 15_000);
    },
    saturationArgs: BENCH_SENDQ,
    latencySamplers: LATENCY_SAMPLERS,
    sqliteTemplate: dbTemplate,
    workDir,
    users: (count, from) => names('b', count, from),
    password: CHAT_PASSWORD,
    log,
  };
}

/** Drops the PostgreSQL databases a running scenario made (the deadline, a signal, a crash of the bench). */
function cleanupStores(): Promise<unknown> {
  return Promise.all([cleanupCluster(), cleanupHistory()]);
}

// ---- setup, report ----


function fmtRate(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

function fmtSpread(s: Spread, digits: number, scale = 1): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  const f = (n: number) => (digits === 0 ? fmtRate(n * scale) : (n * scale).toFixed(digits));
  return s.values.length > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

function machineInfo() {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    node: process.version,
    kernel: release(),
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    date: new Date().toISOString(),
    loadavgAtStart: loadavg().map((n) => Number(n.toFixed(2))),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const { plan } = options;
  serverArgs = options.serverArgs;
  serverNodeFlags = options.nodeFlags;
  const machine = machineInfo();
  const started = nowMs();
  const log = (line: string) => process.stderr.write(`[${((nowMs() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  const deadline = setTimeout(() => {
    log(`deadline of ${plan.deadlineS} s reached: stopping everything`);
    killAll();
    void cleanupStores().finally(() => process.exit(1));
  }, plan.deadlineS * 1000);
  deadline.unref();

  workDir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
  dbTemplate = join(workDir, 'template.db');
  serverMain = snapshotServer(options.serverBuild);
  if (options.serverBuild !== undefined) log(`server: the build in ${options.serverBuild}`);
  const chatUsers = Math.max(plan.memoryClients, ...plan.saturationClients, ...plan.latencyLoads.map((l) => l.clients), plan.stormChatters);
  log(`preparing ${chatUsers} chat users (bcrypt cost 4) and ${plan.stormClients} storm users (cost 12) in ${workDir}`);
  await seedUsers(
    dbTemplate,
    [
      { usernames: names('b', chatUsers), password: CHAT_PASSWORD, cost: 4 },
      { usernames: names('s', plan.stormClients), password: STORM_PASSWORD, cost: 12 },
    ],
    options.serverBuild,
  );
  generators = Array.from({ length: plan.generators }, (_, i) => new Generator(i));

  const result: Record<string, unknown> = { machine, plan, options: { quick: options.quick, only: [...options.only], profile: options.profile, serverArgs, nodeFlags: serverNodeFlags, serverBuild: options.serverBuild } };
  const saturation: SaturationResult[] = [];
  const latency: LatencyResult[] = [];
  let memory: MemoryResult | undefined;
  let storm: StormResult | undefined;
  let profile: ProfileResult | undefined;
  let lockedStore: LockedStoreResult | undefined;
  let flooders: FloodersResult | undefined;
  const failures: string[] = [];
  const attempt = async (what: string, work: () => Promise<void>) => {
    log(what);
    try {
      await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${what}: ${message}`);
      log(`FAILED ${what}: ${message}`);
    }
  };

  if (options.only.has('saturation')) {
    for (const clients of plan.saturationClients) {
      await attempt(`saturation, ${clients} clients, server vs relay`, async () => {
        saturation.push(await scenarioSaturation(clients, plan, log));
      });
    }
  }
  if (options.only.has('latency')) {
    for (const load of plan.latencyLoads) {
      await attempt(`latency, ${load.rate} msg/s into ${load.clients} clients, ${load.arrivals}`, async () => {
        latency.push(await scenarioLatency(load, plan, log));
      });
    }
  }
  if (options.only.has('memory')) {
    await attempt(`memory, ${plan.memoryClients} idle logged-in connections`, async () => {
      memory = await scenarioMemory(plan.memoryClients, log);
    });
  }
  if (options.only.has('storm')) {
    await attempt(`login storm, ${plan.stormClients} logins (cost 12) while ${plan.stormChatters} chat at ${plan.stormRate} msg/s`, async () => {
      storm = await scenarioStorm(plan, log);
    });
  }
  if (options.only.has('locked-store')) {
    const lockPlan = { holdMs: options.quick ? 5000 : 12_000, clients: 50, senders: 5, rate: 100 };
    await attempt(`locked store: another process holds the write lock for ${lockPlan.holdMs / 1000} s`, async () => {
      const start = () => startServer();
      lockedStore = await scenarioLockedStore(lockPlan, { start, users: names('b', lockPlan.clients), password: CHAT_PASSWORD, log });
    });
  }
  if (options.only.has('flooders')) {
    const floodPlan = defaultFloodersPlan(options.quick, plan.rounds, plan.durationS);
    await attempt(`flooders: ${floodPlan.chatters} chatters at ${floodPlan.rate} msg/s alone and with ${floodPlan.flooders} flooders of each line type`, async () => {
      flooders = await scenarioFlooders(floodPlan, floodersDeps(log));
    });
  }
  let cluster: ClusterResult | undefined;
  if (options.cluster) {
    const clusterPlan = defaultClusterPlan(options.quick, process.argv.includes('--rounds') ? plan.rounds : undefined, process.argv.includes('--duration') ? plan.durationS : undefined);
    if (options.failoverUsers !== undefined) clusterPlan.failoverUsers = options.failoverUsers;
    if (options.passwordFailoverUsers !== undefined) clusterPlan.passwordFailoverUsers = options.passwordFailoverUsers;
    if (options.failoverUsers !== undefined || options.passwordFailoverUsers !== undefined) clusterPlan.failoverTimeoutMs = Math.max(clusterPlan.failoverTimeoutMs, 240_000);
    await attempt(`cluster: ${clusterPlan.clients} clients into 1, 2, 3 instances and 3 via HAProxy; failover of ${clusterPlan.failoverUsers} users`, async () => {
      cluster = await scenarioCluster(clusterPlan, clusterDeps(log));
      failures.push(...cluster.errors);
    });
  }
  let resumeStorm: ResumeStormResult | undefined;
  if (options.only.has('resume-storm')) {
    const users = options.quick ? 50 : 1000;
    // BENCH_RESUME_PASSWORD_USERS: fewer password logins on a loaded machine (the rest of the tokens come from the store).
    const resumePlan = { users, passwordUsers: Number(process.env.BENCH_RESUME_PASSWORD_USERS ?? users), cost: 12 };
    await attempt(`resume storm: ${resumePlan.passwordUsers} password logins (cost 12), then ${resumePlan.users} resumes`, async () => {
      const start = (db: string, args: string[]) => spawnListener('chat-server', [...serverNodeFlags, serverMain, '--host', '127.0.0.1', '--port', '0', '--db', db, ...args, ...serverArgs], 20_000);
      resumeStorm = await scenarioResumeStorm(resumePlan, { start, workDir, log });
    });
  }
  let history: HistoryResult | undefined;
  if (options.only.has('history')) {
    const historyPlan = {
      ...defaultHistoryPlan(options.quick),
      saturationClients: Math.max(...plan.saturationClients),
      // History on against off under the bench's original pacing (its measurements of 2026-12-01 used it).
      latencyLoads: plan.latencyLoads.filter((load) => load.arrivals === 'bursts'),
      rounds: plan.rounds,
      // At least 5 in a full run: the deliveries/s bound (10 %) is the tightest, and these rounds are cheap.
      saturationRounds: options.quick ? plan.rounds : Math.max(plan.rounds, 5),
      stores: options.historyStores,
      parts: options.historyParts,
    };
    await attempt(`history: on vs off on SQLite and PostgreSQL (saturation ${historyPlan.saturationClients} clients, latency, ${historyPlan.stormClients} logins at once, kill -9)`, async () => {
      history = await scenarioHistory(historyPlan, historyDeps(plan, log));
      failures.push(...history.stores.flatMap((s) => s.errors));
    });
  }
  if (options.profile) {
    const clients = plan.saturationClients[plan.saturationClients.length - 1]!;
    await attempt(`profile: server under --cpu-prof, saturation at ${clients} clients`, async () => {
      profile = await profileSaturation(clients, plan);
    });
  }

  await Promise.all(generators.map((g) => g.exit()));
  Object.assign(result, { loadavgAtEnd: loadavg().map((n) => Number(n.toFixed(2))), seconds: (nowMs() - started) / 1000, saturation, latency, memory, storm, lockedStore, flooders, resumeStorm, cluster, history, profile, failures });

  // ---- human report ----
  const out: string[] = [];
  out.push(`chat-server bench — ${machine.date} — ${machine.cpuModel} × ${machine.cores}, node ${machine.node}, load ${machine.loadavgAtStart.join(' ')}`);
  out.push(`rounds ${plan.rounds}, ${plan.durationS} s per measurement; cells: median (min–max) over rounds`);
  if (saturation.length > 0) {
    const table = new Table({
      style: { head: [], border: [] },
      head: [
        'saturation',
        'senders×window',
        'server deliveries/s',
        'relay deliveries/s',
        'server/relay',
        'server µs CPU/delivery',
        'relay µs CPU/delivery',
        'CPU server/relay',
        'writes/delivery server, relay',
        'lost',
        'dropped',
      ],
    });
    for (const s of saturation) {
      table.push([
        `${s.clients} clients`,
        `${s.senders}×${s.window}`,
        fmtSpread(s.server, 0),
        fmtSpread(s.relay, 0),
        fmtSpread(s.ratio, 0, 100) + ' %',
        fmtSpread(s.serverCpu, 2),
        fmtSpread(s.relayCpu, 2),
        fmtSpread(s.cpuRatio, 2),
        `${fmtSpread(s.serverWrites, 4)}, ${fmtSpread(s.relayWrites, 4)}`,
        String(s.lost),
        String(s.rounds.reduce((n, r) => n + r.dropped, 0)),
      ]);
    }
    out.push(table.toString());
  }
  if (latency.length > 0) {
    const table = new Table({ style: { head: [], border: [] }, head: ['latency (ms)', 'target', 'p50', 'p99', 'max', 'µs CPU/delivery', 'CPU server/relay', 'writes/delivery', 'samples/round', 'lost'] });
    for (const l of latency) {
      for (const target of ['server', 'relay'] as const) {
        const t = l[target];
        table.push([
          `${l.rate} msg/s into ${l.clients}, ${l.arrivals}`,
          target,
          fmtSpread(t.p50, 2),
          fmtSpread(t.p99, 2),
          fmtSpread(t.max, 2),
          fmtSpread(t.cpu, 2),
          target === 'server' ? fmtSpread(l.cpuRatio, 2) : '',
          fmtSpread(t.writes, 3),
          String(t.rounds[0]?.samples ?? 0),
          String(t.rounds.reduce((n, r) => n + r.lost, 0)),
        ]);
      }
    }
    out.push(table.toString());
  }
  if (memory !== undefined) {
    const m = memory;
    const table = new Table({
      style: { head: [], border: [] },
      head: ['memory', 'ready', 'RSS before', 'at half', 'RSS after', 'peak', 'per connection (average)', 'per connection (marginal)', 'average at once', 'alive'],
    });
    table.push([
      `${m.clients} idle logged in`,
      String(m.ready),
      `${(m.rssBeforeKiB / 1024).toFixed(1)} MiB`,
      `${(m.rssMiddleKiB / 1024).toFixed(1)} MiB`,
      fmtSpread(m.rssAfterKiB, 1, 1 / 1024) + ' MiB',
      `${(m.peakKiB / 1024).toFixed(1)} MiB`,
      fmtSpread(m.perConnectionBytes, 0) + ' B',
      `${Math.round(m.marginalPerConnectionBytes).toLocaleString('en-US')} B`,
      `${Math.round(m.perConnectionAtOnceBytes).toLocaleString('en-US')} B (${(m.rssBeforeAtOnceKiB / 1024).toFixed(1)} → ${(m.rssAfterAtOnceKiB / 1024).toFixed(1)} MiB)`,
      m.serverAlive ? 'yes' : 'NO',
    ]);
    out.push(table.toString());
  }
  if (storm !== undefined) {
    const s = storm;
    const table = new Table({ style: { head: [], border: [] }, head: ['login storm', 'logged in', 'logins/s', 'server_busy', 'time to login p50/p99', 'chat p99 before', 'chat p50/p99/max during', 'per-second p99'] });
    table.push([
      `${s.stormClients} at once + ${s.chatters} chatting`,
      `${s.loggedIn} (${s.failed} failed)`,
      s.loginsPerSecond.toFixed(1),
      String(s.busyRefusals),
      `${(s.timeToLogin.p50 / 1000).toFixed(1)} / ${(s.timeToLogin.p99 / 1000).toFixed(1)} s`,
      `${s.chatBefore.p99.toFixed(2)} ms`,
      `${s.chatDuring.p50.toFixed(2)} / ${s.chatDuring.p99.toFixed(2)} / ${s.chatDuring.max.toFixed(1)} ms`,
      fmtSpread(s.chatP99PerSecond, 2) + ' ms',
    ]);
    out.push(table.toString());
  }
  if (lockedStore !== undefined) {
    const table = new Table({ style: { head: [], border: [] }, head: LOCKED_STORE_HEAD });
    table.push(...formatLockedStore(lockedStore, (n) => n.toFixed(1)));
    out.push(table.toString());
  }
  if (flooders !== undefined) {
    const table = new Table({ style: { head: [], border: [] }, head: FLOODERS_HEAD });
    table.push(...formatFlooders(flooders, fmtSpread));
    out.push(table.toString());
    if (flooders.chattersDropped > 0) out.push(`flooders: ${flooders.chattersDropped} chatters were disconnected`);
  }
  if (resumeStorm !== undefined) {
    const table = new Table({ style: { head: [], border: [] }, head: RESUME_STORM_HEAD });
    table.push(...formatResumeStorm(resumeStorm));
    out.push(table.toString());
  }
  if (cluster !== undefined) {
    const table = new Table({ style: { head: [], border: [] }, head: CLUSTER_HEAD });
    table.push(...formatCluster(cluster, fmtSpread));
    out.push(table.toString());
    const failover = new Table({ style: { head: [], border: [] }, head: FAILOVER_HEAD });
    failover.push(...formatFailover(cluster));
    out.push(failover.toString());
  }
  if (history !== undefined) {
    const table = new Table({ style: { head: [], border: [] }, head: HISTORY_HEAD });
    table.push(...formatHistory(history, fmtSpread));
    out.push(table.toString());
  }
  if (profile !== undefined) {
    out.push(`profile of the server at ${profile.clients}-client saturation (${fmtRate(profile.deliveriesPerSecond)} deliveries/s under the profiler): ${profile.file}`);
    out.push(formatSummary(profile.summary));
  }
  if (failures.length > 0) out.push(`FAILURES:\n  ${failures.join('\n  ')}`);
  process.stdout.write(out.join('\n') + '\n');
  process.stdout.write(`BENCH_JSON ${JSON.stringify(result)}\n`);
  // The profile stays for inspection; the databases go.
  for (const file of readdirSync(workDir)) if (file.endsWith('.db') || file.endsWith('-wal') || file.endsWith('-shm')) rmSync(join(workDir, file), { force: true });
  rmSync(join(workDir, 'app'), { recursive: true, force: true });
  if (profile === undefined) rmSync(workDir, { recursive: true, force: true });
  clearTimeout(deadline);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    void cleanupStores().finally(() => process.exit(130));
  });
}
main().catch((error: unknown) => {
  process.stderr.write(error instanceof BenchUsageError ? `bench: ${error.message}\n` : `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  killAll();
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
  void cleanupStores().finally(() => process.exit(1));
});
