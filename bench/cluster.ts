/**
 * The cluster scenario (issue 12, `npm run bench -- --cluster`): the same
 * load into 1, 2 and 3 chat-server instances on one PostgreSQL database and
 * one Redis (clients spread evenly over the instances), and into 3 through
 * HAProxy (send-proxy-v2). Per configuration: deliveries/s at saturation,
 * p50/p99 at a paced rate, CPU per delivery of the instances plus Redis, and
 * nothing lost. Then failover: N users on one of three instances, `kill -9`
 * of it, each user back through the two others (resume token, or password
 * at bcrypt cost 12); the time from the kill to the last login_ok.
 *
 * The bench owns what it measures: its own redis-server on a free port
 * (no persistence, so its CPU is attributable), its own database on the
 * shared PostgreSQL; both are removed at the end, however the run ends.
 * The load comes from run.ts's forked generators (ClusterDeps).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../src/accounts/passwords.js';
import { openStore, writeTransaction } from '../src/store/open-store.js';
import { insertUser } from '../src/store/users.js';
import { acceptsConnections, haproxyConfig } from './haproxy.js';
import { adminQuery, BENCH_POSTGRES_URL, createDatabase } from './postgres.js';
import { cpuMs } from './proc.js';
import { nowMs, sleep, spread, summarizeLatencies, type CountersResult, type LatencySummary, type SaturateResult, type Spread } from './common.js';
import { authenticate, BACKOFF_MAX_MS, BACKOFF_MIN_MS } from './resume-storm.js';

export interface ClusterPlan {
  clients: number;
  /** Paced total rate of the latency measurement (msg/s), spread over `latencySenders`. */
  rate: number;
  latencySenders: number;
  samplers: number;
  saturationSenders: number;
  durationS: number;
  rounds: number;
  /** Users on the instance that is killed, per failover mode. */
  failoverUsers: number;
  passwordFailoverUsers: number;
  /** A failover phase gives up after this long (the count of users back by then is reported). */
  failoverTimeoutMs: number;
  /** Where the bench creates (and drops) its database. */
  postgresUrl: string;
}

export function defaultClusterPlan(quick: boolean, rounds: number | undefined, durationS: number | undefined): ClusterPlan {
  return {
    clients: quick ? 100 : 1000,
    rate: 200,
    latencySenders: 20,
    samplers: 10,
    saturationSenders: quick ? 10 : 100,
    durationS: durationS ?? (quick ? 1 : 5),
    rounds: rounds ?? (quick ? 1 : 3),
    failoverUsers: quick ? 50 : 1000,
    // 1000 at cost 12 would hold two loaded cores for many minutes: the rate of a few hundred tells the same (it is bcrypt-bound).
    passwordFailoverUsers: quick ? 5 : 300,
    failoverTimeoutMs: quick ? 20_000 : 240_000,
    postgresUrl: BENCH_POSTGRES_URL,
  };
}

export interface Instance {
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ClusterDeps {
  /** Starts a chat-server with these flags (after the bench's own) and waits for its listening line. */
  start(args: string[]): Promise<Instance>;
  /** Registers a child so it is killed when the bench exits. */
  track(child: ChildProcess): void;
  /** Logs in `usernames` through the generators, client i of each generator to ports[i % ports.length]. */
  connect(group: string, ports: number[], usernames: string[], samplers: number): Promise<{ ready: number; failed: number; seconds: number; errors: string[] }>;
  saturate(group: string, senders: number, warmupMs: number, durationMs: number): Promise<SaturateResult[]>;
  paceStart(group: string, senders: number, ratePerSender: number): Promise<void>;
  paceStop(group: string): Promise<void>;
  totals(group: string, reset?: boolean): Promise<CountersResult>;
  latencies(group: string): Promise<number[]>;
  close(group: string): Promise<void>;
  /** Flags that take per-user and per-address limits out of the way, and the bench's bcrypt cost and send queue. */
  limits: string[];
  /** The chat users' names (hashed at cost 4 with `password`). */
  users(count: number): string[];
  password: string;
  log(line: string): void;
}

export interface ConfigName {
  instances: number;
  haproxy: boolean;
}

export interface ConfigRound {
  config: string;
  instances: number;
  haproxy: boolean;
  ready: number;
  loginSeconds: number;
  saturation: { deliveriesPerSecond: number; sent: number; lost: number; dropped: number; drainMs: number; cpu: CpuSplit; cpuPerDeliveryUs: number };
  latency: LatencySummary & { sent: number; lost: number; deliveries: number; cpu: CpuSplit; cpuPerDeliveryUs: number };
}

/** CPU ms over a measured interval: every instance together, Redis, HAProxy (0 without it). */
export interface CpuSplit {
  instancesMs: number;
  redisMs: number;
  haproxyMs: number;
}

export interface ConfigSummary {
  config: string;
  rounds: number;
  deliveriesPerSecond: Spread;
  saturationCpuUs: Spread;
  /** Of the CPU per delivery at saturation, the part Redis spent (µs). */
  saturationRedisUs: Spread;
  p50: Spread;
  p99: Spread;
  latencyCpuUs: Spread;
  latencyRedisUs: Spread;
  /** This configuration's p99 over the one-instance p99 of the same round. */
  p99VsOne: Spread;
  /** This configuration's saturation rate over the one-instance rate of the same round. */
  rateVsOne: Spread;
  lost: number;
  dropped: number;
}

export interface FailoverResult {
  mode: 'resume' | 'password';
  users: number;
  /** Users back (login_ok on another instance) by the end. */
  back: number;
  /** kill -9 to the last login_ok (ms), or to the timeout when not all came back. */
  lastMs: number;
  perUserMs: LatencySummary;
  /** Refusals answered before a user got back in, by reason (each retried). */
  retries: Record<string, number>;
  /** Resumes refused as resume_invalid that fell back to the password. */
  fellBack: number;
  /** Time the users' first logins took on the instance to be killed. */
  setupSeconds: number;
  errors: string[];
}

export interface ClusterResult {
  plan: ClusterPlan;
  rounds: ConfigRound[];
  summary: ConfigSummary[];
  failover: FailoverResult[];
  /** Parts that failed (the rest is still reported). */
  errors: string[];
}

export const CONFIGS: ConfigName[] = [
  { instances: 1, haproxy: false },
  { instances: 2, haproxy: false },
  { instances: 3, haproxy: false },
  { instances: 3, haproxy: true },
];

export function configLabel(c: ConfigName): string {
  return c.haproxy ? `${c.instances} via HAProxy` : `${c.instances} instance${c.instances === 1 ? '' : 's'}`;
}

/** Pure: rounds of every configuration into one row each, with each round compared to the same round's one-instance numbers. */
export function summarizeCluster(rounds: readonly ConfigRound[]): ConfigSummary[] {
  const labels = [...new Set(rounds.map((r) => r.config))];
  const baseline = rounds.filter((r) => r.instances === 1 && !r.haproxy);
  return labels.map((label) => {
    const mine = rounds.filter((r) => r.config === label);
    // Round k of this configuration against round k of the single instance: both ran minutes apart at most, under the same neighbours.
    const paired = (pick: (r: ConfigRound) => number) => mine.flatMap((r, k) => (baseline[k] === undefined ? [] : [pick(r) / pick(baseline[k]!)]));
    const per = (cpuMs: number, deliveries: number) => (cpuMs * 1000) / Math.max(1, deliveries);
    return {
      config: label,
      rounds: mine.length,
      deliveriesPerSecond: spread(mine.map((r) => r.saturation.deliveriesPerSecond)),
      saturationCpuUs: spread(mine.map((r) => r.saturation.cpuPerDeliveryUs)),
      saturationRedisUs: spread(mine.map((r) => r.saturation.cpuPerDeliveryUs * (r.saturation.cpu.redisMs / Math.max(1e-9, totalCpu(r.saturation.cpu))))),
      p50: spread(mine.map((r) => r.latency.p50)),
      p99: spread(mine.map((r) => r.latency.p99)),
      latencyCpuUs: spread(mine.map((r) => r.latency.cpuPerDeliveryUs)),
      latencyRedisUs: spread(mine.map((r) => per(r.latency.cpu.redisMs, r.latency.deliveries))),
      p99VsOne: spread(paired((r) => r.latency.p99)),
      rateVsOne: spread(paired((r) => r.saturation.deliveriesPerSecond)),
      lost: mine.reduce((n, r) => n + Math.max(0, r.saturation.lost) + Math.max(0, r.latency.lost), 0),
      dropped: mine.reduce((n, r) => n + r.saturation.dropped, 0),
    };
  });
}

export function totalCpu(cpu: CpuSplit): number {
  return cpu.instancesMs + cpu.redisMs + cpu.haproxyMs;
}

// ---- /proc ----

function cpuMeter(instances: readonly Instance[], redisPid: number, haproxyPid: number | undefined): () => CpuSplit {
  const read = (): CpuSplit => ({
    instancesMs: instances.reduce((n, i) => n + cpuMs(i.pid), 0),
    redisMs: cpuMs(redisPid),
    haproxyMs: haproxyPid === undefined ? 0 : cpuMs(haproxyPid),
  });
  const before = read();
  return () => {
    const after = read();
    return { instancesMs: after.instancesMs - before.instancesMs, redisMs: after.redisMs - before.redisMs, haproxyMs: after.haproxyMs - before.haproxyMs };
  };
}

// ---- services of the bench's own ----

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}


interface Service {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Spawns `command` and waits (at most `timeoutMs`) until `port` accepts connections. */
async function startService(label: string, command: string, args: string[], port: number, deps: ClusterDeps, timeoutMs = 10_000): Promise<Service> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  deps.track(child);
  // A program that is not installed fails the phase with one line, not the whole run with an unhandled event.
  let spawnError: Error | undefined;
  child.once('error', (error: Error) => {
    spawnError = error;
  });
  let output = '';
  const keep = (text: Buffer) => {
    output = (output + text.toString('utf8')).slice(-2000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  };
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    if (spawnError !== undefined) throw new Error(`${label} could not be started (${(spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? `${command} is not on the PATH` : spawnError.message})`);
    if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}: ${output.trim()}`);
    if (await acceptsConnections(port)) return { port, pid: child.pid!, stop };
    if (nowMs() > deadline) {
      await stop();
      throw new Error(`${label} did not accept connections on ${port} within ${timeoutMs} ms: ${output.trim()}`);
    }
    await sleep(50);
  }
}

async function startRedis(deps: ClusterDeps): Promise<Service> {
  const port = await freePort();
  return startService('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port, deps);
}

async function startHaproxy(backends: readonly number[], deps: ClusterDeps): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-haproxy-'));
  const port = await freePort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, backends));
  try {
    const service = await startService('haproxy', 'haproxy', ['-db', '-f', file], port, deps);
    return {
      ...service,
      stop: async () => {
        await service.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

// ---- the scenario ----

const FAILOVER_PASSWORD = 'bench-failover-pw';
/**
 * Beyond deps.limits: no failed-login throttling (every client is 127.0.0.1). The login queue keeps its
 * default bound, as a deployment's: past it a login is told server_busy and comes back after chat-client's
 * backoff. (Unbounded, a password storm at cost 12 queued checks for longer than a client waits, the client
 * gave up and came back, and the abandoned checks ran anyway: a livelock, 132 of 300 back in 240 s.)
 */
const CLUSTER_FLAGS = ['--throttle-window', '0'];

/** One failover login or resume that gets no answer in this long is made again: chat-client's own login timeout. */
const ATTEMPT_TIMEOUT_MS = 30_000;

const failoverNames = (mode: string, count: number) => Array.from({ length: count }, (_, i) => `f${mode[0]}${String(i).padStart(5, '0')}`);

/** What must go even when the run is cut short: the bench's database (its redis-server is a tracked child). */
const pending = new Set<() => Promise<void>>();

/** For the orchestrator's deadline and signal handlers: drops what a running cluster scenario created (at most 10 s). */
export async function cleanupCluster(): Promise<void> {
  const work = Promise.all([...pending].map((cleanup) => cleanup().catch(() => undefined)));
  await Promise.race([work, sleep(10_000)]);
}

export async function scenarioCluster(plan: ClusterPlan, deps: ClusterDeps): Promise<ClusterResult> {
  const cleanups: (() => Promise<void>)[] = [];
  const result: ClusterResult = { plan, rounds: [], summary: [], failover: [], errors: [] };
  const stopAll = (instances: Instance[]) => Promise.all(instances.map((i) => i.stop()));
  try {
    const redis = await startRedis(deps);
    cleanups.push(() => redis.stop());
    const db = await createDatabase(plan.postgresUrl);
    const dropDb = () => db.drop().finally(() => pending.delete(dropDb));
    pending.add(dropDb);
    cleanups.push(dropDb);
    deps.log(`  redis-server of the bench on ${redis.port} (pid ${redis.pid}); database ${new URL(db.url).pathname.slice(1)}`);
    await prepareUsers(db.url, deps.users(plan.clients), deps.password, plan);
    const busUrl = `redis://127.0.0.1:${redis.port}`;
    const startInstances = async (count: number, extra: string[]): Promise<Instance[]> => {
      // One prefix throughout: an instance with another prefix would refuse to start while a stopped one's row still looked live.
      const args = ['--host', '127.0.0.1', '--port', '0', '--db', db.url, '--bus', busUrl, '--bus-prefix', 'bench:', ...deps.limits, ...CLUSTER_FLAGS, ...extra];
      // The first runs the migrations alone; the others start together (each announces itself and asks who is in).
      const first = await deps.start(args);
      const rest = await Promise.allSettled(Array.from({ length: count - 1 }, () => deps.start(args)));
      const started = [first, ...rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
      const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) {
        await stopAll(started);
        throw failed.reason;
      }
      return started;
    };

    for (let round = 0; round < plan.rounds; round += 1) {
      // Configurations take turns round by round, so a change in the neighbours' load hits all of them alike.
      for (const config of CONFIGS) {
        const label = configLabel(config);
        deps.log(`cluster round ${round + 1}: ${label}, ${plan.clients} clients`);
        const t0 = nowMs();
        const instances = await startInstances(config.instances, config.haproxy ? ['--proxy-protocol'] : []);
        deps.log(`  ${config.instances} up in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
        let haproxy: Service | undefined;
        try {
          if (config.haproxy) haproxy = await startHaproxy(instances.map((i) => i.port), deps);
          if (haproxy !== undefined) await waitBackendsUp(haproxy.port, 15_000);
          const measured = await measureConfig(config, instances, redis.pid, haproxy, plan, deps);
          result.rounds.push(measured);
          deps.log(
            `  ${label}: ${Math.round(measured.saturation.deliveriesPerSecond)} deliveries/s (${measured.saturation.cpuPerDeliveryUs.toFixed(2)} µs CPU each), ` +
              `p50 ${measured.latency.p50.toFixed(1)} ms p99 ${measured.latency.p99.toFixed(1)} ms at ${plan.rate} msg/s, lost ${measured.saturation.lost + measured.latency.lost}`,
          );
          if (round === plan.rounds - 1 && config.instances === 3 && !config.haproxy) {
            // Failover on these three (chat clients gone): the first is killed, then a fourth joins the two left and is killed in turn.
            await deps.close('cluster');
            for (const mode of ['resume', 'password'] as const) {
              const users = mode === 'resume' ? plan.failoverUsers : plan.passwordFailoverUsers;
              deps.log(`failover (${mode}): ${users} users on one of 3 instances, kill -9, back through the other two`);
              try {
                if (mode === 'password') instances.push(...(await startInstances(1, [])));
                const victim = instances[mode === 'resume' ? 0 : 3]!;
                const outcome = await failover(mode, failoverNames(mode, users), victim, [instances[1]!, instances[2]!], db.url, plan);
                result.failover.push(outcome);
                deps.log(`  ${outcome.back} of ${users} back ${(outcome.lastMs / 1000).toFixed(2)} s after the kill (p50 ${(outcome.perUserMs.p50 / 1000).toFixed(2)} s; first logins ${outcome.setupSeconds.toFixed(1)} s; retried ${JSON.stringify(outcome.retries)}, ${outcome.fellBack} fell back to the password)`);
              } catch (error) {
                result.errors.push(`failover (${mode}): ${error instanceof Error ? error.message : String(error)}`);
                deps.log(`  FAILED failover (${mode}): ${result.errors[result.errors.length - 1]}`);
              }
            }
          }
        } catch (error) {
          result.errors.push(`round ${round + 1}, ${label}: ${error instanceof Error ? error.message : String(error)}`);
          deps.log(`  FAILED ${result.errors[result.errors.length - 1]}`);
        } finally {
          await deps.close('cluster').catch(() => undefined);
          await haproxy?.stop();
          await stopAll(instances);
        }
      }
    }
    result.summary = summarizeCluster(result.rounds);

    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => deps.log(`  cleanup: ${error instanceof Error ? error.message : String(error)}`));
  }
}

async function prepareUsers(url: string, chatUsers: string[], chatPassword: string, plan: ClusterPlan): Promise<void> {
  const store = await openStore({ file: url, create: true });
  try {
    // One hash per password, shared: each login still runs one full compare. Failover users start at cost 4 (see failover()).
    const chatHash = await hashPassword(chatPassword, 4);
    const failoverHash = await hashPassword(FAILOVER_PASSWORD, 4);
    const at = new Date().toISOString();
    await writeTransaction(store.db, async (trx) => {
      for (const username of chatUsers) await insertUser(trx, { username, passwordHash: chatHash, at });
      for (const username of [...failoverNames('resume', plan.failoverUsers), ...failoverNames('password', plan.passwordFailoverUsers)]) await insertUser(trx, { username, passwordHash: failoverHash, at });
    });
  } finally {
    await store.close();
  }
}

/** HAProxy marks a backend up after two good checks (`rise 2`, 500 ms apart): wait until a login line gets an answer. */
async function waitBackendsUp(port: number, timeoutMs: number): Promise<void> {
  // Two checks of 500 ms each, with margin; a connection before that is queued by HAProxy, not refused.
  const deadline = nowMs() + timeoutMs;
  await sleep(1500);
  while (!(await acceptsConnections(port))) {
    if (nowMs() > deadline) throw new Error(`HAProxy on ${port} did not accept within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function drain(group: string, clients: number, deps: ClusterDeps, timeoutMs: number): Promise<{ sent: number; lost: number; dropped: number; drainMs: number }> {
  const started = nowMs();
  let t = await deps.totals(group);
  while (t.received < t.sent * (clients - 1) && nowMs() - started < timeoutMs) {
    await sleep(100);
    t = await deps.totals(group);
  }
  return { sent: t.sent, lost: t.sent * (clients - 1) - t.received, dropped: t.dropped, drainMs: nowMs() - started };
}

async function measureConfig(config: ConfigName, instances: Instance[], redisPid: number, haproxy: Service | undefined, plan: ClusterPlan, deps: ClusterDeps): Promise<ConfigRound> {
  const group = 'cluster';
  const ports = haproxy === undefined ? instances.map((i) => i.port) : [haproxy.port];
  const conn = await deps.connect(group, ports, deps.users(plan.clients), plan.samplers);
  if (conn.ready !== plan.clients) throw new Error(`${configLabel(config)}: ${conn.ready} of ${plan.clients} logged in (${conn.errors.join('; ')})`);
  deps.log(`  ${conn.ready} logged in in ${conn.seconds.toFixed(1)} s`);
  // Every login is announced to everyone already in: let that fan-out settle.
  await sleep(1000);
  await deps.totals(group, true);
  await deps.latencies(group);

  const warmupMs = 1000;
  const durationMs = plan.durationS * 1000;
  let meter: (() => CpuSplit) | undefined;
  const metering = sleep(warmupMs).then(() => (meter = cpuMeter(instances, redisPid, haproxy?.pid)));
  const sat = await deps.saturate(group, plan.saturationSenders, warmupMs, durationMs);
  await metering;
  const satCpu = meter!();
  const delivered = sat.reduce((n, r) => n + (r.r1 - r.r0), 0);
  const seconds = sat.reduce((n, r) => n + (r.t1 - r.t0), 0) / sat.length / 1000;
  const satDrain = await drain(group, plan.clients, deps, 30_000);
  deps.log(`  saturation drained in ${(satDrain.drainMs / 1000).toFixed(1)} s`);
  await deps.latencies(group);

  await deps.totals(group, true);
  await deps.paceStart(group, plan.latencySenders, plan.rate / plan.latencySenders);
  await sleep(warmupMs);
  await deps.latencies(group);
  const received0 = (await deps.totals(group)).received;
  const latMeter = cpuMeter(instances, redisPid, haproxy?.pid);
  await sleep(durationMs);
  const latCpu = latMeter();
  const deliveries = (await deps.totals(group)).received - received0;
  const samples = await deps.latencies(group);
  await deps.paceStop(group);
  const latDrain = await drain(group, plan.clients, deps, 15_000);
  samples.push(...(await deps.latencies(group)));
  return {
    config: configLabel(config),
    instances: config.instances,
    haproxy: config.haproxy,
    ready: conn.ready,
    loginSeconds: conn.seconds,
    saturation: {
      deliveriesPerSecond: delivered / seconds,
      sent: satDrain.sent,
      lost: satDrain.lost,
      dropped: satDrain.dropped,
      drainMs: satDrain.drainMs,
      cpu: satCpu,
      cpuPerDeliveryUs: (totalCpu(satCpu) * 1000) / Math.max(1, delivered),
    },
    latency: { ...summarizeLatencies(samples), sent: latDrain.sent, lost: latDrain.lost, deliveries, cpu: latCpu, cpuPerDeliveryUs: (totalCpu(latCpu) * 1000) / Math.max(1, deliveries) },
  };
}

/**
 * `users` log in (password, cost 4) on instances[0], which is then killed
 * with SIGKILL; each connection, as it closes, logs in again at once on one
 * of the others (alternating), with its resume token or its password. The
 * password mode switches the users' hashes to cost 12 between the first
 * logins and the kill, so only the failover pays cost 12 (as a deployment at
 * the default cost does), not the bench's setup. A refusal (server_busy, or
 * already_logged_in while the dead instance's rows still stand) is retried:
 * after chat-client's backoff when busy, after 100-200 ms otherwise.
 */
async function failover(mode: 'resume' | 'password', users: string[], victim: Instance, survivors: Instance[], dbUrl: string, plan: ClusterPlan): Promise<FailoverResult> {
  const setupStarted = nowMs();
  const first: { socket: net.Socket; token: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const username = users[next++]!;
      for (;;) {
        const { socket, reply } = await authenticate(victim.port, { type: 'login', username, password: FAILOVER_PASSWORD });
        if (reply.type === 'login_ok' && typeof reply.resume === 'string') {
          first.push({ socket, token: reply.resume });
          break;
        }
        socket.destroy();
        // 50 at once pass the default login queue bound (32) on a fast machine: the setup is not measured, so come back soon.
        if (reply.reason !== 'server_busy') throw new Error(`failover setup: ${username} got ${JSON.stringify(reply)}`);
        await sleep(50 + Math.random() * 50);
      }
    }
  };
  await withTimeout(Promise.all(Array.from({ length: 50 }, worker)), 180_000, 'failover setup logins');
  const setupSeconds = (nowMs() - setupStarted) / 1000;
  if (mode === 'password') {
    const cost12 = await hashPassword(FAILOVER_PASSWORD, 12);
    await adminQuery(dbUrl, `update users set password_hash = $1 where username like 'fp%'`, [cost12]);
  }
  await sleep(1000);

  const retries: Record<string, number> = {};
  const errors: string[] = [];
  const perUser: number[] = [];
  let fellBack = 0;
  let killedAt = 0;
  const comeBack = (entry: { token: string }, index: number): Promise<net.Socket | undefined> => {
    const port = survivors[index % survivors.length]!.port;
    let request: Record<string, unknown> = mode === 'resume' ? { type: 'resume', token: entry.token } : { type: 'login', username: users[index]!, password: FAILOVER_PASSWORD };
    let busyBackoff = BACKOFF_MIN_MS;
    const attempt = async (): Promise<net.Socket | undefined> => {
      for (;;) {
        if (nowMs() - killedAt > plan.failoverTimeoutMs) return undefined;
        // An attempt that gets no answer within ATTEMPT_TIMEOUT_MS is given up and made again (counted as `timeout`).
        const pendingAttempt = authenticate(port, request);
        let attemptTimer: NodeJS.Timeout | undefined;
        const { socket, reply } = await Promise.race([
          pendingAttempt,
          new Promise<{ socket: undefined; reply: Record<string, unknown> }>((resolve) => (attemptTimer = setTimeout(() => resolve({ socket: undefined, reply: { type: 'error', reason: 'timeout' } }), ATTEMPT_TIMEOUT_MS))),
        ]).catch((error: unknown) => ({ socket: undefined, reply: { type: 'error', reason: error instanceof Error ? error.message : String(error) } as Record<string, unknown> }));
        clearTimeout(attemptTimer);
        if (reply.reason === 'timeout') void pendingAttempt.then((late) => late.socket.destroy(), () => undefined);
        if (reply.type === 'login_ok') {
          perUser.push(nowMs() - killedAt);
          return socket;
        }
        socket?.destroy();
        const reason = String(reply.reason ?? reply.type);
        if (reason === 'resume_invalid') {
          // As chat-client does: the token is refused, the password it holds is next.
          fellBack += 1;
          request = { type: 'login', username: users[index]!, password: FAILOVER_PASSWORD };
        } else if (reason !== 'server_busy' && reason !== 'already_logged_in' && reply.type !== 'error') {
          if (errors.length < 5) errors.push(`${users[index]}: ${reason}`);
          return undefined;
        }
        retries[reason] = (retries[reason] ?? 0) + 1;
        // Busy: chat-client's backoff (0.25 s doubling to 10 s, ±50 %). Otherwise (the dead instance's seat still held) soon again.
        if (reason === 'server_busy') {
          await sleep(busyBackoff * (0.5 + Math.random()));
          busyBackoff = Math.min(busyBackoff * 2, BACKOFF_MAX_MS);
        } else await sleep(100 + Math.random() * 100);
      }
    };
    return attempt();
  };
  const back = first.map(
    (entry, i) =>
      new Promise<net.Socket | undefined>((resolve) => {
        entry.socket.once('close', () => resolve(comeBack(entry, i)));
      }),
  );
  killedAt = nowMs();
  process.kill(victim.pid, 'SIGKILL');
  // Every attempt gives up by itself at the phase timeout (plus one attempt's timeout); this is the last resort.
  const sockets = await withTimeout(Promise.all(back), plan.failoverTimeoutMs + ATTEMPT_TIMEOUT_MS + 30_000, `failover (${mode})`);
  const all = sockets.every((s) => s !== undefined);
  for (const socket of sockets) socket?.destroy();
  return {
    mode,
    users: users.length,
    back: perUser.length,
    lastMs: all ? Math.max(...perUser) : plan.failoverTimeoutMs,
    perUserMs: summarizeLatencies(perUser),
    retries,
    fellBack,
    setupSeconds,
    errors,
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- report ----

export const CLUSTER_HEAD = ['cluster', 'deliveries/s at saturation', 'vs 1', 'µs CPU/delivery (Redis part)', `p50 ms`, 'p99 ms', 'p99 vs 1', 'µs CPU/delivery paced (Redis part)', 'lost', 'dropped'];

export function formatCluster(result: ClusterResult, fmt: (s: Spread, digits: number, scale?: number) => string): string[][] {
  return result.summary.map((s) => [
    `${s.config}, ${result.plan.clients} clients`,
    fmt(s.deliveriesPerSecond, 0),
    fmt(s.rateVsOne, 2),
    `${fmt(s.saturationCpuUs, 2)} (${fmt(s.saturationRedisUs, 2)})`,
    fmt(s.p50, 1),
    fmt(s.p99, 1),
    fmt(s.p99VsOne, 2),
    `${fmt(s.latencyCpuUs, 2)} (${fmt(s.latencyRedisUs, 2)})`,
    String(s.lost),
    String(s.dropped),
  ]);
}

export const FAILOVER_HEAD = ['failover (kill -9 of 1 of 3)', 'back', 'kill to last login_ok', 'per user p50 / p99', 'retried', 'first logins'];

export function formatFailover(result: ClusterResult): string[][] {
  return result.failover.map((f) => [
    `${f.users} users, ${f.mode === 'resume' ? 'resume' : 'password (cost 12)'}`,
    `${f.back} / ${f.users}`,
    f.back === f.users ? `${(f.lastMs / 1000).toFixed(2)} s` : `> ${(f.lastMs / 1000).toFixed(0)} s`,
    `${(f.perUserMs.p50 / 1000).toFixed(2)} / ${(f.perUserMs.p99 / 1000).toFixed(2)} s`,
    Object.entries(f.retries).map(([k, v]) => `${k} ${v}`).join(', ') + (f.fellBack > 0 ? `; ${f.fellBack} fell back to password` : ''),
    `${f.setupSeconds.toFixed(1)} s`,
  ]);
}
