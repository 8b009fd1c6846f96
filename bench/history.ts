/**
 * The `history` scenario of `npm run bench` (issue 13): what recent history
 * costs, on SQLite and on PostgreSQL. For each store, side by side in every
 * round (the order alternating), a server with history on (the default,
 * `--history 50`) and one with `--history 0`, the same clients logged in to
 * each:
 *
 * - saturation deliveries/s and CPU per delivery at the largest client count,
 *   and how soon after sending stopped the on-server's store held every
 *   message (the writer's "in the store within a second");
 * - latency p99 at the latency scenario's fixed loads;
 * - 1000 users logging in at once into a full history (a large messages
 *   table, at least `limit` messages to replay): first attempt to last
 *   `history_end` (`login_ok` with history off), per login p50/p99,
 *   `server_busy` answers retried; then logins one after another, from
 *   `login` to `history_end`;
 * - what `kill -9` loses: a client sends at a fixed rate, every `say`
 *   acknowledged, the server is killed at a random moment; acknowledged
 *   messages missing from the store, also as ms of traffic.
 *
 * The load comes from run.ts's generators and measurements (HistoryDeps);
 * this file owns the stores (the PostgreSQL databases it creates are dropped
 * at the end, however the run ends) and the summary.
 */
import { copyFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { hashPassword } from '../src/accounts/passwords.js';
import { MessageIdGenerator } from '../src/protocol/message-id.js';
import { openStore, writeTransaction } from '../src/store/open-store.js';
import { insertUser, usernameKey } from '../src/store/users.js';
import { redactUrl } from '../src/util/redact-url.js';
import { inTurn, nowMs, sleep, spread, summarizeLatencies, type LatencySummary, type Spread } from './common.js';
import type { Instance } from './cluster.js';
import { adminQuery, BENCH_POSTGRES_URL, createDatabase, type BenchDatabase } from './postgres.js';
import { cpuTicks, TICKS_PER_SECOND } from './proc.js';

export type StoreKind = 'sqlite' | 'postgres';

export interface HistoryPlan {
  /** Clients of the saturation comparison. */
  saturationClients: number;
  /** The latency scenario's fixed loads. */
  latencyLoads: { clients: number; rate: number }[];
  rounds: number;
  /** Rounds of the saturation comparison: its 10 % bound is the tightest, and a round of it is short (the clients stay logged in). */
  saturationRounds: number;
  /** Users logging in at once into a full history, and rounds of it. */
  stormClients: number;
  stormRounds: number;
  /** Rows in the messages table before the login storm, spread over most of the retention. */
  filledMessages: number;
  /** Logins one after another (after the storm), each timed from `login` to `history_end`. */
  sequentialLogins: number;
  crashRounds: number;
  /** msg/s of the kill -9 talker. */
  crashRate: number;
  /** `--history` of the on-server (the default): messages replayed per login. */
  limit: number;
  postgresUrl: string;
  /** Which stores and parts to run (all by default; `--history-stores`, `--history-parts`). */
  stores: StoreKind[];
  parts: HistoryPart[];
}

export const HISTORY_PARTS = ['saturation', 'latency', 'storm', 'crash'] as const;
export type HistoryPart = (typeof HISTORY_PARTS)[number];
export const HISTORY_STORES: readonly StoreKind[] = ['sqlite', 'postgres'];

export function defaultHistoryPlan(quick: boolean): Omit<HistoryPlan, 'saturationClients' | 'latencyLoads' | 'rounds' | 'saturationRounds' | 'stores' | 'parts'> {
  return {
    stormClients: quick ? 200 : 1000,
    stormRounds: quick ? 1 : 2,
    filledMessages: quick ? 10_000 : 100_000,
    sequentialLogins: quick ? 10 : 30,
    crashRounds: quick ? 2 : 5,
    crashRate: 200,
    limit: 50,
    postgresUrl: BENCH_POSTGRES_URL,
  };
}

// ---- what run.ts provides ----

/** A chat-server the bench started: the same shape the cluster scenario's instances have. */
export type BenchServer = Instance;

/** The part of run.ts's saturation round this scenario reads. */
export interface SaturationRoundLike {
  deliveriesPerSecond: number;
  cpuPerDeliveryUs: number;
  /** The event loop's thread alone (the SQLite store runs on a worker thread of the process; PostgreSQL in its own server, not counted). */
  mainCpuPerDeliveryUs: number;
  sent: number;
  lost: number;
  dropped: number;
  /** End of the send window, monotonic ms (nowMs). */
  t1: number;
}

export interface LatencyRoundLike extends LatencySummary {
  lost: number;
  cpuPerDeliveryUs: number;
}

export interface ConnectedLike {
  ready: number;
  failed: number;
  busy: number;
  /** First connect to the last client ready. */
  seconds: number;
  loginMs: LatencySummary;
  errors: string[];
}

export interface HistoryDeps {
  /** A chat server at the bench's limits with these extra flags, on this store (a file or URL, used as it is). */
  startServer(extra: string[], db: string): Promise<BenchServer>;
  /** Logs users in (`atOnce`: all connect together; `replay`: ready at history_end after that many replayed messages). */
  connect(group: string, port: number, usernames: string[], opts: { samplers: number; atOnce: boolean; replay?: number }): Promise<ConnectedLike>;
  close(group: string): Promise<void>;
  saturationRound(group: string, target: string, pid: number, clients: number, round: number): Promise<SaturationRoundLike>;
  latencyRound(group: string, target: string, pid: number, clients: number, rate: number, round: number): Promise<LatencyRoundLike>;
  /** Waits until the process is nearly idle (bounded). */
  quiet(pid: number): Promise<void>;
  /** Extra server flags of saturation runs (a large send queue). */
  saturationArgs: string[];
  latencySamplers: number;
  /** A SQLite database with the bench users (`users()`), migrated, no messages. */
  sqliteTemplate: string;
  workDir: string;
  users(count: number, from?: number): string[];
  password: string;
  log(line: string): void;
}

// ---- results ----

export interface HistorySaturationRound extends SaturationRoundLike {
  /** PostgreSQL on this host: its backends' CPU for this server's database, µs per delivery over the whole round. */
  storeCpuPerDeliveryUs?: number;
  /** On-server only: messages of the round found in its store, and ms from the end of sending until all were (NaN: not all within the wait). */
  stored?: number;
  inStoreMs?: number;
}

export interface StormRound {
  ready: number;
  failed: number;
  busy: number;
  seconds: number;
  loginMs: LatencySummary;
  /** Logins one after another after the storm: `login` to `history_end` (`login_ok` with history off), ms. */
  sequentialMs: number[];
  errors: string[];
}

export interface CrashRound {
  acked: number;
  stored: number;
  lost: number;
  lostMs: number;
}

export interface HistoryStoreResult {
  store: StoreKind;
  /** Why this store was not measured (PostgreSQL unreachable). */
  skipped?: string;
  saturation?: { clients: number; on: HistorySaturationRound[]; off: HistorySaturationRound[] };
  latency: { clients: number; rate: number; on: LatencyRoundLike[]; off: LatencyRoundLike[] }[];
  storm?: { clients: number; filledMessages: number; on: StormRound[]; off: StormRound[] };
  crash: CrashRound[];
  crashRate: number;
  errors: string[];
}

export interface HistoryResult {
  plan: HistoryPlan;
  stores: HistoryStoreResult[];
  summary: HistorySummaryRow[];
}

// ---- stores ----

/** Databases of one kind for this scenario: each fresh one holds the bench users and no messages. */
interface BenchStore {
  readonly kind: StoreKind;
  fresh(): Promise<string>;
  count(db: string): Promise<number>;
  /** Adds `count` messages spread over the `spanMs` before now (the server is not running). */
  fill(db: string, count: number, spanMs: number): Promise<void>;
  /** PostgreSQL on this host: CPU ticks of each backend serving `db` (the inserts' work is there, not in the chat server). */
  backendTicks?(db: string): Promise<Map<number, number>>;
  /** Removes what it created. */
  close(): Promise<void>;
}

function sqliteStore(deps: HistoryDeps): BenchStore {
  let made = 0;
  return {
    kind: 'sqlite',
    fresh: async () => {
      made += 1;
      const file = join(deps.workDir, `history-${made}.db`);
      copyFileSync(deps.sqliteTemplate, file);
      return file;
    },
    count: async (file) => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare('select count(*) as n from messages').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    fill: async (file, count, spanMs) => {
      const db = new Database(file);
      try {
        const insert = db.prepare('insert into messages (id, username, username_key, text, ts) values (?, ?, ?, ?, ?)');
        db.transaction(() => {
          for (const m of filler(count, spanMs, deps.users(100))) insert.run(m.id, m.from, usernameKey(m.from), m.text, m.ts);
        })();
      } finally {
        db.close();
      }
    },
    // The work folder (run.ts) removes the files.
    close: async () => undefined,
  };
}

/** Databases made by a running history scenario, for the deadline and signal handlers. */
const pendingDrops = new Set<BenchDatabase>();

/** Drops every PostgreSQL database a running history scenario created (at most 10 s). */
export async function cleanupHistory(): Promise<void> {
  const work = Promise.all([...pendingDrops].map((db) => db.drop().catch(() => undefined)));
  await Promise.race([work, sleep(10_000)]);
  pendingDrops.clear();
}

async function postgresStore(serverUrl: string, deps: HistoryDeps, users: number): Promise<BenchStore> {
  const made: BenchDatabase[] = [];
  const track = (db: BenchDatabase) => {
    made.push(db);
    pendingDrops.add(db);
    return db;
  };
  // A migrated base with the users, copied (CREATE DATABASE ... TEMPLATE) for each server.
  const base = track(await createDatabase(serverUrl));
  const store = await openStore({ file: base.url, create: true, thread: 'inline' });
  try {
    const hash = await hashPassword(deps.password, 4);
    const at = new Date().toISOString();
    await writeTransaction(store.db, async (trx) => {
      for (const username of deps.users(users)) await insertUser(trx, { username, passwordHash: hash, at });
    });
  } finally {
    await store.close();
  }
  return {
    kind: 'postgres',
    fresh: async () => track(await createDatabase(serverUrl, base.name)).url,
    count: async (url) => Number((await adminQuery(url, 'select count(*) as n from messages')).rows[0].n),
    fill: async (url, count, spanMs) => {
      const rows = filler(count, spanMs, deps.users(100));
      for (let i = 0; i < rows.length; i += 10_000) {
        const part = rows.slice(i, i + 10_000);
        await adminQuery(url, 'insert into messages (id, username, username_key, text, ts) select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])', [
          part.map((m) => m.id),
          part.map((m) => m.from),
          part.map((m) => usernameKey(m.from)),
          part.map((m) => m.text),
          part.map((m) => m.ts),
        ]);
      }
    },
    backendTicks: async (url) => {
      const { rows } = await adminQuery(url, 'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [new URL(url).pathname.slice(1)]);
      const ticks = new Map<number, number>();
      for (const row of rows as { pid: number }[]) {
        try {
          ticks.set(row.pid, cpuTicks(row.pid));
        } catch {
          // Not on this host, or gone already.
        }
      }
      return ticks;
    },
    close: async () => {
      for (const db of made.reverse()) {
        await db.drop();
        pendingDrops.delete(db);
      }
    },
  };
}

/** `count` room messages, oldest first, evenly over the `spanMs` before now, ids as the server makes them. */
function filler(count: number, spanMs: number, from: string[]): { id: string; from: string; text: string; ts: string }[] {
  const start = Date.now() - spanMs;
  let at = start;
  const ids = new MessageIdGenerator('benchfill00000000', () => at);
  return Array.from({ length: count }, (_, i) => {
    at = start + Math.floor((i * spanMs) / count);
    return { id: ids.next(), from: from[i % from.length]!, text: `earlier message ${i}: the sort of thing people say in a chat room`, ts: new Date(at).toISOString() };
  });
}

/** PostgreSQL at `url` answers, or why not (one line). */
async function reachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---- the scenario ----

interface Side {
  name: 'on' | 'off';
  history: boolean;
  db: string;
  server?: BenchServer;
}

const HISTORY_OFF = ['--history', '0'];
/** How long the store may take to hold a round's messages after sending stopped before the bench stops looking. */
const IN_STORE_WAIT_MS = 10_000;
/** Messages in the table span this much of the default 7-day retention: all of it stays (none is due for deletion). */
const FILL_SPAN_MS = 6.5 * 86_400_000;

export async function scenarioHistory(plan: HistoryPlan, deps: HistoryDeps): Promise<HistoryResult> {
  const stores: HistoryStoreResult[] = [];
  for (const kind of plan.stores) {
    const result: HistoryStoreResult = { store: kind, latency: [], crash: [], crashRate: plan.crashRate, errors: [] };
    stores.push(result);
    let store: BenchStore;
    if (kind === 'sqlite') store = sqliteStore(deps);
    else {
      const why = await reachable(plan.postgresUrl);
      if (why !== undefined) {
        result.skipped = `PostgreSQL at ${redactUrl(plan.postgresUrl)} unreachable: ${why}`;
        deps.log(`history on postgres: skipped (${result.skipped})`);
        continue;
      }
      const users = Math.max(plan.saturationClients, ...plan.latencyLoads.map((l) => l.clients), plan.stormClients + plan.sequentialLogins);
      store = await postgresStore(plan.postgresUrl, deps, users);
    }
    try {
      await measureStore(store, plan, deps, result);
    } finally {
      await store.close().catch((error: unknown) => deps.log(`  cleanup of ${kind}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  // The report is printed and kept: no password in it.
  return { plan: { ...plan, postgresUrl: redactUrl(plan.postgresUrl) }, stores, summary: summarizeHistory(stores) };
}

async function measureStore(store: BenchStore, plan: HistoryPlan, deps: HistoryDeps, result: HistoryStoreResult): Promise<void> {
  const part = async (what: string, work: () => Promise<void>) => {
    deps.log(`history on ${store.kind}: ${what}`);
    try {
      await work();
    } catch (error) {
      result.errors.push(`${store.kind}, ${what}: ${error instanceof Error ? error.message : String(error)}`);
      deps.log(`  FAILED ${result.errors[result.errors.length - 1]}`);
    }
  };
  const does = (name: HistoryPart) => plan.parts.includes(name);
  if (does('saturation')) {
    await part(`saturation, ${plan.saturationClients} clients, history on vs off`, async () => {
      result.saturation = await compareSaturation(store, plan, deps);
    });
  }
  for (const load of does('latency') ? plan.latencyLoads : []) {
    await part(`latency, ${load.rate} msg/s into ${load.clients} clients, history on vs off`, async () => {
      result.latency.push(await compareLatency(store, load.clients, load.rate, plan, deps));
    });
  }
  if (does('storm')) {
    await part(`${plan.stormClients} logins at once into a full history (${plan.filledMessages} stored), on vs off`, async () => {
      result.storm = await compareStorm(store, plan, deps);
    });
  }
  if (!does('crash')) return;
  await part(`kill -9 at ${plan.crashRate} msg/s, ${plan.crashRounds} rounds`, async () => {
    for (let r = 0; r < plan.crashRounds; r += 1) {
      const round = await crashLoss(store, plan.crashRate, deps);
      result.crash.push(round);
      deps.log(`  round ${r + 1}: ${round.acked} acknowledged, ${round.stored} stored, lost ${round.lost} (${round.lostMs.toFixed(0)} ms of traffic)`);
    }
  });
}

/** The on and off servers, each on a fresh database of the store. */
async function startPair(store: BenchStore, extra: string[], deps: HistoryDeps): Promise<[Side, Side]> {
  const sides: [Side, Side] = [
    { name: 'on', history: true, db: await store.fresh() },
    { name: 'off', history: false, db: await store.fresh() },
  ];
  for (const side of sides) side.server = await deps.startServer([...extra, ...(side.history ? [] : HISTORY_OFF)], side.db);
  return sides;
}

async function stopPair(sides: readonly Side[], deps: HistoryDeps): Promise<void> {
  for (const side of sides) await deps.close(`h-${side.name}`).catch(() => undefined);
  for (const side of sides) await side.server?.stop();
}

async function connectPair(sides: readonly Side[], clients: number, samplers: number, deps: HistoryDeps): Promise<void> {
  for (const side of sides) {
    const c = await deps.connect(`h-${side.name}`, side.server!.port, deps.users(clients), { samplers, atOnce: false });
    if (c.ready !== clients) throw new Error(`history ${side.name}: ${c.ready} of ${clients} ready (${c.errors.join('; ')})`);
    deps.log(`  ${clients} clients ready at the history-${side.name} server (${c.seconds.toFixed(1)} s, ${c.busy} server_busy retried)`);
  }
  await sleep(1000);
}

async function compareSaturation(store: BenchStore, plan: HistoryPlan, deps: HistoryDeps): Promise<NonNullable<HistoryStoreResult['saturation']>> {
  const clients = plan.saturationClients;
  const sides = await startPair(store, deps.saturationArgs, deps);
  try {
    await connectPair(sides, clients, 0, deps);
    const rounds = await inTurn(sides, plan.saturationRounds, async (side, r): Promise<HistorySaturationRound> => {
      const before = side.history ? await store.count(side.db) : 0;
      const ticksBefore = await store.backendTicks?.(side.db);
      const measured = await deps.saturationRound(`h-${side.name}`, `history ${side.name}`, side.server!.pid, clients, r);
      const ticksAfter = await store.backendTicks?.(side.db);
      let round: HistorySaturationRound = measured;
      if (ticksBefore !== undefined && ticksAfter !== undefined && ticksAfter.size > 0) {
        let ticks = 0;
        for (const [pid, now] of ticksAfter) ticks += now - (ticksBefore.get(pid) ?? 0);
        // Over the whole round (warm-up and drain too), per delivery of the whole round (nothing is lost: sent × the other clients).
        round = { ...round, storeCpuPerDeliveryUs: (((ticks * 1000) / TICKS_PER_SECOND) * 1000) / Math.max(1, measured.sent * (clients - 1)) };
      }
      if (!side.history) return round;
      // Every acknowledged message of the round must reach the store; how soon after sending stopped?
      let stored = (await store.count(side.db)) - before;
      while (stored < round.sent && nowMs() - round.t1 < IN_STORE_WAIT_MS) {
        await sleep(50);
        stored = (await store.count(side.db)) - before;
      }
      const inStoreMs = stored >= round.sent ? nowMs() - round.t1 : NaN;
      deps.log(`    ${stored} of ${round.sent} sent in the store, ${Number.isNaN(inStoreMs) ? `not all within ${IN_STORE_WAIT_MS} ms` : `${inStoreMs.toFixed(0)} ms after sending stopped`}`);
      return { ...round, stored, inStoreMs };
    });
    return { clients, on: rounds.get(sides[0])!, off: rounds.get(sides[1])! };
  } finally {
    await stopPair(sides, deps);
  }
}

async function compareLatency(store: BenchStore, clients: number, rate: number, plan: HistoryPlan, deps: HistoryDeps): Promise<HistoryStoreResult['latency'][number]> {
  const sides = await startPair(store, [], deps);
  try {
    await connectPair(sides, clients, deps.latencySamplers, deps);
    const rounds = await inTurn(sides, plan.rounds, (side, r) => deps.latencyRound(`h-${side.name}`, `history ${side.name}`, side.server!.pid, clients, rate, r));
    return { clients, rate, on: rounds.get(sides[0])!, off: rounds.get(sides[1])! };
  } finally {
    await stopPair(sides, deps);
  }
}

async function compareStorm(store: BenchStore, plan: HistoryPlan, deps: HistoryDeps): Promise<NonNullable<HistoryStoreResult['storm']>> {
  const sides: Side[] = [
    { name: 'on', history: true, db: await store.fresh() },
    { name: 'off', history: false, db: await store.fresh() },
  ];
  const t0 = nowMs();
  // The same full table for both: history off reads none of it, which is the comparison.
  for (const side of sides) await store.fill(side.db, plan.filledMessages, FILL_SPAN_MS);
  deps.log(`  ${plan.filledMessages} messages stored in each database in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
  const rounds = await inTurn(sides, plan.stormRounds, async (side, r): Promise<StormRound> => {
    // A fresh server per round: the last round's thousand sessions are gone, not still ending.
    const server = await deps.startServer(side.history ? [] : HISTORY_OFF, side.db);
    const group = `storm-${side.name}`;
    try {
      const c = await deps.connect(group, server.port, deps.users(plan.stormClients), { samplers: 0, atOnce: true, ...(side.history ? { replay: plan.limit } : {}) });
      await deps.close(group);
      await deps.quiet(server.pid);
      const sequentialMs: number[] = [];
      for (const username of deps.users(plan.sequentialLogins, plan.stormClients)) sequentialMs.push(await timedLogin(server.port, username, deps.password, side.history ? plan.limit : undefined));
      const seq = summarizeLatencies(sequentialMs);
      deps.log(
        `  round ${r + 1} history ${side.name}: ${c.ready} of ${plan.stormClients} in ${c.seconds.toFixed(1)} s (login p50 ${c.loginMs.p50.toFixed(0)} ms, p99 ${c.loginMs.p99.toFixed(0)} ms, ${c.busy} server_busy retried); one at a time p50 ${seq.p50.toFixed(1)} ms, p99 ${seq.p99.toFixed(1)} ms`,
      );
      return { ready: c.ready, failed: c.failed, busy: c.busy, seconds: c.seconds, loginMs: c.loginMs, sequentialMs, errors: c.errors };
    } finally {
      await deps.close(group).catch(() => undefined);
      await server.stop();
    }
  });
  return { clients: plan.stormClients, filledMessages: plan.filledMessages, on: rounds.get(sides[0]!)!, off: rounds.get(sides[1]!)! };
}

async function crashLoss(store: BenchStore, rate: number, deps: HistoryDeps): Promise<CrashRound> {
  const db = await store.fresh();
  const server = await deps.startServer([], db);
  let timer: NodeJS.Timeout | undefined;
  try {
    const talker = await WireClient.connect(server.port);
    talker.send({ type: 'hello', proto: 1 });
    talker.send({ type: 'login', username: deps.users(1)[0]!, password: deps.password });
    await talker.wait((m) => m.type === 'login_ok');
    let n = 0;
    timer = setInterval(() => talker.send({ type: 'say', text: `m${++n}`, id: String(n) }), 1000 / rate);
    // Killed at a random point of a 400 ms interval, after 2 s of traffic.
    await sleep(2000 + Math.random() * 400);
    server.child.kill('SIGKILL');
    await new Promise((resolve) => (server.child.exitCode !== null || server.child.signalCode !== null ? resolve(undefined) : server.child.once('exit', resolve)));
    clearInterval(timer);
    const acked = talker.messages.filter((m) => m.type === 'ack').length;
    talker.socket.destroy();
    const stored = await store.count(db);
    const lost = Math.max(0, acked - stored);
    return { acked, stored, lost, lostMs: (lost / rate) * 1000 };
  } finally {
    clearInterval(timer);
    await server.stop();
  }
}

/** One login on a fresh connection: ms from `login` to `history_end` after `replay` messages (or to `login_ok` when undefined). */
async function timedLogin(port: number, username: string, password: string, replay: number | undefined): Promise<number> {
  const client = await WireClient.connect(port);
  try {
    client.send({ type: 'hello', proto: 1 });
    await client.wait((m) => m.type === 'hello');
    const started = nowMs();
    client.send({ type: 'login', username, password });
    const end = await client.wait((m) => m.type === (replay === undefined ? 'login_ok' : 'history_end') || m.type === 'login_failed');
    const ms = nowMs() - started;
    if (end.type === 'login_failed') throw new Error(`${username}: login_failed ${String(end.reason)}`);
    if (replay !== undefined && end.count !== replay) throw new Error(`${username}: replayed ${String(end.count)}, not ${replay}`);
    client.send({ type: 'quit' });
    await client.wait((m) => m.type === 'bye');
    return ms;
  } finally {
    client.socket.destroy();
  }
}

/** A JSON client for the one-at-a-time measurements: lines in, `wait(accept)` for one. */
class WireClient {
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

  static connect(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(new WireClient(socket)));
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

// ---- summary (pure) ----

/** Issue 13's bounds: history on keeps at least 90 % of the deliveries/s and adds at most 20 % to the p99. */
export const SATURATION_GOAL = 0.9;
export const P99_GOAL = 1.2;

export interface HistorySummaryRow {
  store: StoreKind;
  measurement: string;
  on: Spread;
  off: Spread;
  /** On over off, round by round (each on-round against the off-round of the same round). */
  ratio: Spread;
  /** `met` / `not met` against the goal, or empty when the row has none. */
  verdict: string;
  goal: string;
}

/**
 * One row per measurement and store. Ratios pair round k of history on with
 * round k of history off, measured minutes apart at most under the same
 * neighbours, so the machine's drift cancels (a median of ratios, not a
 * ratio of medians). The verdict compares the median ratio with the goal.
 */
export function summarizeHistory(stores: readonly HistoryStoreResult[]): HistorySummaryRow[] {
  const rows: HistorySummaryRow[] = [];
  const paired = (on: number[], off: number[]) => spread(on.flatMap((v, k) => (off[k] === undefined ? [] : [v / off[k]!])));
  const row = (store: StoreKind, measurement: string, on: number[], off: number[], goal?: { bound: number; atLeast: boolean; text: string }): void => {
    const ratio = paired(on, off);
    let verdict = '';
    if (goal !== undefined && Number.isFinite(ratio.median)) verdict = (goal.atLeast ? ratio.median >= goal.bound : ratio.median <= goal.bound) ? 'met' : 'not met';
    rows.push({ store, measurement, on: spread(on), off: spread(off), ratio, verdict, goal: goal?.text ?? '' });
  };
  for (const s of stores) {
    if (s.skipped !== undefined) continue;
    if (s.saturation !== undefined) {
      const { on, off, clients } = s.saturation;
      row(s.store, `saturation ${clients} clients, deliveries/s`, on.map((r) => r.deliveriesPerSecond), off.map((r) => r.deliveriesPerSecond), { bound: SATURATION_GOAL, atLeast: true, text: `≥ ${SATURATION_GOAL.toFixed(2)}` });
      row(s.store, `saturation ${clients} clients, µs CPU/delivery`, on.map((r) => r.cpuPerDeliveryUs), off.map((r) => r.cpuPerDeliveryUs));
      row(s.store, `saturation ${clients} clients, µs CPU/delivery, event loop thread`, on.map((r) => r.mainCpuPerDeliveryUs), off.map((r) => r.mainCpuPerDeliveryUs));
      if (on.some((r) => r.storeCpuPerDeliveryUs !== undefined)) {
        row(s.store, `saturation ${clients} clients, µs CPU/delivery, PostgreSQL backends`, on.map((r) => r.storeCpuPerDeliveryUs ?? NaN), off.map((r) => r.storeCpuPerDeliveryUs ?? NaN));
      }
      // In the store after sending stopped: only the on-server stores.
      rows.push({ store: s.store, measurement: 'saturation: ms until every message was in the store', on: spread(on.map((r) => r.inStoreMs ?? NaN)), off: spread([]), ratio: spread([]), verdict: on.every((r) => (r.inStoreMs ?? NaN) <= 1000) ? 'met' : 'not met', goal: '≤ 1000 ms' });
    }
    for (const l of s.latency) {
      row(s.store, `${l.rate} msg/s into ${l.clients}, p99 ms`, l.on.map((r) => r.p99), l.off.map((r) => r.p99), { bound: P99_GOAL, atLeast: false, text: `≤ ${P99_GOAL.toFixed(2)}` });
    }
    if (s.storm !== undefined) {
      const { on, off, clients } = s.storm;
      row(s.store, `${clients} logins at once, first attempt to last ready, s`, on.map((r) => r.seconds), off.map((r) => r.seconds));
      row(s.store, `${clients} logins at once, per login p50 ms`, on.map((r) => r.loginMs.p50), off.map((r) => r.loginMs.p50));
      row(s.store, `${clients} logins at once, per login p99 ms`, on.map((r) => r.loginMs.p99), off.map((r) => r.loginMs.p99));
      row(s.store, `${clients} logins at once, server_busy retried`, on.map((r) => r.busy), off.map((r) => r.busy));
      const one = (rounds: StormRound[], p: 'p50' | 'p99') => [summarizeLatencies(rounds.flatMap((r) => r.sequentialMs))[p]];
      row(s.store, 'one login at a time, p50 ms', one(on, 'p50'), one(off, 'p50'));
      row(s.store, 'one login at a time, p99 ms', one(on, 'p99'), one(off, 'p99'));
    }
    if (s.crash.length > 0) {
      const worst = Math.max(...s.crash.map((c) => c.lostMs));
      rows.push({ store: s.store, measurement: `kill -9 at ${s.crashRate} msg/s: acknowledged but not stored, ms of traffic`, on: spread(s.crash.map((c) => c.lostMs)), off: spread([]), ratio: spread([]), verdict: worst <= 1000 ? 'met' : 'not met', goal: '≤ 1000 ms' });
    }
  }
  return rows;
}

export const HISTORY_HEAD = ['history (issue 13)', 'store', 'history on', 'history off', 'on / off', 'goal', ''];

/** Table rows of the summary, plus one row per skipped store. */
export function formatHistory(result: HistoryResult, fmt: (s: Spread, digits: number) => string): string[][] {
  const digits = (measurement: string) => (measurement.includes('deliveries/s') || measurement.includes('server_busy') ? 0 : measurement.includes('µs') ? 3 : measurement.endsWith(', s') ? 2 : 1);
  const out = result.summary.map((r) => [r.measurement, r.store, fmt(r.on, digits(r.measurement)), r.off.values.length === 0 ? '' : fmt(r.off, digits(r.measurement)), r.ratio.values.length === 0 ? '' : fmt(r.ratio, 3), r.goal, r.verdict]);
  for (const s of result.stores) {
    if (s.skipped !== undefined) out.push(['skipped', s.store, s.skipped, '', '', '', '']);
    for (const e of s.errors) out.push(['FAILED', s.store, e, '', '', '', '']);
  }
  return out;
}
