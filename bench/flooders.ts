/**
 * The flooders scenario (issue 10, "every line counts"): normal users chat at
 * a fixed rate and their latency is measured alone, then with three logged-in
 * flooders writing one kind of line as fast as their sockets take it (one
 * sub-scenario per kind), side by side in one run, over several rounds (which
 * of the two windows goes first alternates). The server runs with its default
 * flood limits (--rate-limit 5, --rate-burst 10); the chatters stay under
 * them. Reported per kind: the chatters' p50/p99 alone and with the flood,
 * the p99 delta of each round, the server's CPU in each window, and what
 * happened to the flooders (lines written, goodbye reason, how soon).
 * Chatters run in the load generators; flooders in a process of their own
 * (bench/flooder.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { sleep, spread, summarizeLatencies, type LatencySummary, type Spread } from './common.js';
import { FLOOD_KINDS, type FloodKind, type FlooderRequest, type FlooderStats } from './flooder.js';

export interface FloodersPlan {
  chatters: number;
  /** Messages per second, all chatters together. */
  rate: number;
  flooders: number;
  kinds: readonly FloodKind[];
  rounds: number;
  windowMs: number;
}

export const defaultFloodersPlan = (quick: boolean, rounds: number, durationS: number): FloodersPlan => ({
  chatters: quick ? 30 : 100,
  rate: quick ? 60 : 200,
  flooders: 3,
  kinds: FLOOD_KINDS,
  rounds,
  windowMs: durationS * 1000,
});

export interface FloodersDeps {
  /** A fresh server with these extra flags. */
  startServer(extra: string[]): Promise<{ port: number; pid: number; stop(): Promise<void> }>;
  /** Logs the chatters in (in the load generators), `samplers` of them decoding every line to time it. */
  connectChatters(port: number, usernames: string[], samplers: number): Promise<{ ready: number; errors: string[] }>;
  /** Every chatter sends `ratePerSender` messages a second, the senders' sends spread over each period. */
  paceStart(senders: number, ratePerSender: number): Promise<void>;
  paceStop(): Promise<void>;
  /** Latency samples since the last call (ms). */
  latencies(): Promise<number[]>;
  /** Chatters the server has disconnected so far. */
  dropped(): Promise<number>;
  closeChatters(): Promise<void>;
  /** The process's CPU time over the next `forMs` (ms, every thread). */
  cpuMs(pid: number, forMs: number): Promise<number>;
  /** Forks bench/flooder.js (the caller kills it if the run dies). */
  forkFlooder(): ChildProcess;
  /** `count` usernames of users with `password`, from index `from`. */
  users(from: number, count: number): string[];
  password: string;
  log(line: string): void;
}

export interface FloodWindow {
  flooded: boolean;
  chat: LatencySummary;
  /** The server's CPU over the window, as a share of one core (%). */
  serverCpuPercent: number;
  flooders?: FlooderStats[];
}

export interface FloodKindResult {
  kind: FloodKind;
  rounds: { alone: FloodWindow; flooded: FloodWindow }[];
  aloneP50: Spread;
  aloneP99: Spread;
  floodedP50: Spread;
  floodedP99: Spread;
  /** p99 with the flood minus p99 alone, round by round (ms). */
  p99Delta: Spread;
  aloneCpu: Spread;
  floodedCpu: Spread;
  /** Flooders cut off, of all flooders in all rounds, and the reasons heard. */
  disconnected: number;
  flooderCount: number;
  byeReasons: string[];
  /** Median time from the start of a flood to its goodbye (ms). */
  byeAfterMs: Spread;
  /** Lines each flooder wrote before the window ended or it was cut off (median). */
  linesWritten: Spread;
}

export interface FloodersResult {
  plan: FloodersPlan;
  kinds: FloodKindResult[];
  /** Chatters disconnected by the server during the scenario (should be 0). */
  chattersDropped: number;
}

/** The promise of issue 10: three flooders raise the others' p99 by less than this. */
export const P99_DELTA_LIMIT_MS = 20;

/** A flooder process driven over IPC. */
class FlooderProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  #next = 1;

  constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (reply: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const waiting = this.#pending.get(reply.id);
      if (waiting === undefined) return;
      this.#pending.delete(reply.id);
      clearTimeout(waiting.timer);
      if (reply.ok) waiting.resolve(reply.result);
      else waiting.reject(new Error(`flooder: ${reply.error}`));
    });
    child.on('exit', (code) => {
      for (const waiting of this.#pending.values()) {
        clearTimeout(waiting.timer);
        waiting.reject(new Error(`flooder process exited (${code})`));
      }
      this.#pending.clear();
    });
  }

  call<T>(req: FlooderRequest, timeoutMs: number): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`flooder: ${req.cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#child.send({ id, req });
    });
  }

  async exit(): Promise<void> {
    await this.call({ cmd: 'exit' }, 2000).catch(() => undefined);
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}

/** The default flood limits, stated so that the bench's own "no limits" flags do not apply here. */
const DEFAULT_FLOOD_LIMITS = ['--rate-limit', '5', '--rate-burst', '10'];
/** Lines per second each chatter sends at most: under the default rate limit of 5. */
const CHATTER_RATE_CAP = 4;
const LATENCY_SAMPLERS = 10;

export async function scenarioFlooders(plan: FloodersPlan, deps: FloodersDeps): Promise<FloodersResult> {
  const server = await deps.startServer(DEFAULT_FLOOD_LIMITS);
  try {
    const chatters = deps.users(0, plan.chatters);
    const conn = await deps.connectChatters(server.port, chatters, LATENCY_SAMPLERS);
    if (conn.ready !== plan.chatters) throw new Error(`flooders: ${conn.ready} of ${plan.chatters} chatters ready (${conn.errors.join('; ')})`);
    // Every chatter speaks, each well under the flood limit, as people do.
    if (plan.rate / plan.chatters > CHATTER_RATE_CAP) throw new Error(`flooders: ${plan.rate} msg/s from ${plan.chatters} chatters is over ${CHATTER_RATE_CAP} a second each`);
    await deps.paceStart(plan.chatters, plan.rate / plan.chatters);
    await sleep(1000);
    let nextFlooder = plan.chatters;
    const results: FloodKindResult[] = [];
    const rounds = new Map<FloodKind, { alone: FloodWindow; flooded: FloodWindow }[]>(plan.kinds.map((k) => [k, []]));

    const measureAlone = async (): Promise<FloodWindow> => {
      await sleep(300);
      await deps.latencies();
      const cpu = await deps.cpuMs(server.pid, plan.windowMs);
      return { flooded: false, chat: summarizeLatencies(await deps.latencies()), serverCpuPercent: (cpu / plan.windowMs) * 100 };
    };
    const measureFlooded = async (kind: FloodKind): Promise<FloodWindow> => {
      const usernames = deps.users(nextFlooder, plan.flooders);
      nextFlooder += plan.flooders;
      const flooder = new FlooderProcess(deps.forkFlooder());
      try {
        await flooder.call({ cmd: 'start', port: server.port, kind, usernames, password: deps.password, timeoutMs: 20_000 }, 25_000);
        // Their joins reach the chatters: let that pass before the window.
        await sleep(300);
        await deps.latencies();
        const cpu = deps.cpuMs(server.pid, plan.windowMs);
        await flooder.call({ cmd: 'flood' }, 5000);
        const cpuMs = await cpu;
        const stats = await flooder.call<FlooderStats[]>({ cmd: 'stop' }, 5000);
        return { flooded: true, chat: summarizeLatencies(await deps.latencies()), serverCpuPercent: (cpuMs / plan.windowMs) * 100, flooders: stats };
      } finally {
        await flooder.exit();
      }
    };

    for (let r = 0; r < plan.rounds; r += 1) {
      for (const kind of plan.kinds) {
        // Alternate which window goes first, so neither always runs on a warmer (or busier) machine.
        const floodFirst = r % 2 === 1;
        const first = floodFirst ? await measureFlooded(kind) : await measureAlone();
        const second = floodFirst ? await measureAlone() : await measureFlooded(kind);
        const pair = floodFirst ? { alone: second, flooded: first } : { alone: first, flooded: second };
        rounds.get(kind)!.push(pair);
        const f = pair.flooded.flooders ?? [];
        deps.log(
          `  round ${r + 1} ${kind}: p99 alone ${pair.alone.chat.p99.toFixed(2)} ms, with flooders ${pair.flooded.chat.p99.toFixed(2)} ms ` +
            `(Δ ${(pair.flooded.chat.p99 - pair.alone.chat.p99).toFixed(2)}), server CPU ${pair.alone.serverCpuPercent.toFixed(0)} % → ${pair.flooded.serverCpuPercent.toFixed(0)} %, ` +
            `flooders cut off ${f.filter((s) => s.byeReason !== undefined).length}/${f.length} (${[...new Set(f.map((s) => s.byeReason ?? 'none'))].join(',')}) ` +
            `after ${f.map((s) => (s.byeAfterMs ?? NaN).toFixed(0)).join('/')} ms, lines written ${f.map((s) => s.linesWritten).join('/')}`,
        );
      }
    }
    for (const kind of plan.kinds) {
      const list = rounds.get(kind)!;
      const all = list.flatMap((p) => p.flooded.flooders ?? []);
      const cut = all.filter((s) => s.byeReason !== undefined);
      results.push({
        kind,
        rounds: list,
        aloneP50: spread(list.map((p) => p.alone.chat.p50)),
        aloneP99: spread(list.map((p) => p.alone.chat.p99)),
        floodedP50: spread(list.map((p) => p.flooded.chat.p50)),
        floodedP99: spread(list.map((p) => p.flooded.chat.p99)),
        p99Delta: spread(list.map((p) => p.flooded.chat.p99 - p.alone.chat.p99)),
        aloneCpu: spread(list.map((p) => p.alone.serverCpuPercent)),
        floodedCpu: spread(list.map((p) => p.flooded.serverCpuPercent)),
        disconnected: cut.length,
        flooderCount: all.length,
        byeReasons: [...new Set(cut.map((s) => s.byeReason!))],
        byeAfterMs: spread(cut.map((s) => s.byeAfterMs!)),
        linesWritten: spread(all.map((s) => s.linesWritten)),
      });
    }
    await deps.paceStop();
    return { plan, kinds: results, chattersDropped: await deps.dropped() };
  } finally {
    await deps.closeChatters().catch(() => undefined);
    await server.stop();
  }
}

export const FLOODERS_HEAD = ['flooders (3, one line type)', 'chat p50 alone / flooded', 'chat p99 alone / flooded', 'p99 Δ (ms)', `median Δ < ${P99_DELTA_LIMIT_MS} ms`, 'server CPU alone / flooded', 'flooders cut off', 'goodbye after (ms)', 'lines written per flooder'];

export function formatFlooders(result: FloodersResult, fmt: (s: Spread, digits: number) => string): string[][] {
  return result.kinds.map((k) => [
    k.kind,
    `${fmt(k.aloneP50, 2)} / ${fmt(k.floodedP50, 2)}`,
    `${fmt(k.aloneP99, 2)} / ${fmt(k.floodedP99, 2)}`,
    fmt(k.p99Delta, 2),
    k.p99Delta.median < P99_DELTA_LIMIT_MS ? 'yes' : 'NO',
    `${fmt(k.aloneCpu, 0)} / ${fmt(k.floodedCpu, 0)} %`,
    `${k.disconnected}/${k.flooderCount} (${k.byeReasons.join(',') || 'none'})`,
    fmt(k.byeAfterMs, 1),
    fmt(k.linesWritten, 0),
  ]);
}
