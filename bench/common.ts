/** Helpers shared by the bench orchestrator and its child processes. */

/**
 * Monotonic milliseconds. `process.hrtime` reads CLOCK_MONOTONIC, which every
 * process on one Linux machine shares, so a send time taken in one generator
 * can be compared with a receive time taken in another.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The p-th percentile (0..100) of an ascending array, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarizeLatencies(values: number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  return { samples: list.length, p50: percentile(list, 50), p99: percentile(list, 99), max: list.length === 0 ? NaN : list[list.length - 1]! };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

/** Median, min and max of the rounds of one measurement. */
export function spread(values: number[]): Spread {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN, values };
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, values };
}

/**
 * Measures each target once per round, in the given order in even rounds and
 * reversed in odd ones, so neither always runs on a warmer (or busier)
 * machine; targets compared within one round share its noise. Returns each
 * target's results, round by round.
 */
export async function inTurn<T, R>(targets: readonly T[], rounds: number, measure: (target: T, round: number) => Promise<R>): Promise<Map<T, R[]>> {
  const results = new Map<T, R[]>(targets.map((t) => [t, []]));
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) results.get(target)!.push(await measure(target, round));
  }
  return results;
}

// ---- the IPC contract between run.ts and loadgen.ts ----

/** `json`: the chat protocol with hello + login; `raw`: the bench relay, no login. */
export type WireKind = 'json' | 'raw';

export interface ConnectRequest {
  cmd: 'connect';
  group: string;
  port: number;
  /** When set, client i of this request connects to ports[i % ports.length] instead (several instances). */
  ports?: number[];
  kind: WireKind;
  usernames: string[];
  password: string;
  /** Connections being opened or logging in at once. */
  concurrency: number;
  /** How many of these clients parse every line to sample latency. */
  samplers: number;
  timeoutMs: number;
  /**
   * Recent history: a client is ready at `history_end` (not `login_ok`) and
   * must have been replayed exactly this many messages first; unset, ready
   * at `login_ok` and any replay is counted as received messages.
   */
  replay?: number;
}

export interface ConnectResult {
  ready: number;
  failed: number;
  /** `login_failed` / `server_busy` answers received (each retried after a backoff). */
  busy: number;
  startedAt: number;
  lastReadyAt: number;
  /** Per client, connect-to-login_ok in ms (to history_end with `replay`). */
  loginMs: number[];
  errors: string[];
}

export interface SaturateRequest {
  cmd: 'saturate';
  group: string;
  /** The first `senders` ready clients of this generator send. */
  senders: number;
  window: number;
  warmupMs: number;
  durationMs: number;
}

export interface SaturateResult {
  sent: number;
  /** Messages received by this generator's clients at the start and end of the measured interval. */
  r0: number;
  r1: number;
  t0: number;
  t1: number;
}

export interface PaceStartRequest {
  cmd: 'paceStart';
  group: string;
  senders: number;
  /** Messages per second per sender. */
  rate: number;
  /** Spread the senders' sends over each period instead of sending together (default: together). */
  stagger?: boolean;
  /**
   * With `stagger`, this generator's place among `staggerOf` generators, so that
   * the senders of all of them get distinct phases (default: 0 of 1).
   */
  staggerSlot?: number;
  staggerOf?: number;
  /** How often the pacer looks for sends that are due, ms (default 2). */
  tickMs?: number;
}

export interface CountersResult {
  received: number;
  sent: number;
  acks: number;
  dropped: number;
  byes: number;
  ready: number;
}

export type GenRequest =
  | ConnectRequest
  | SaturateRequest
  | PaceStartRequest
  | { cmd: 'paceStop'; group: string }
  | { cmd: 'counters'; group: string; reset?: boolean }
  | { cmd: 'latencies'; group: string }
  | { cmd: 'close'; group: string }
  | { cmd: 'exit' };

export type GenMessage = { id: number; req: GenRequest };
export type GenReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
