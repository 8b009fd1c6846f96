/**
 * The message bus alone, through a real Redis: instances as separate
 * processes, each a RedisBus, publishing room messages to each other.
 *
 *   node dist/bench/bus.js [--redis URL] [--instances N] [--duration SECONDS] [--rounds N] [--rates 1000,5000]
 *
 * Saturation: every instance keeps its outgoing buffer topped up (at most
 * 2000 waiting) for the duration; deliveries/s counts messages handed to
 * subscribers on all instances. Latency: a fixed total rate spread over the
 * instances; publish-to-delivery time (one machine, one clock). After each
 * round every instance waits (up to 30 s) until all that the others
 * published has arrived, so the counts show nothing lost or doubled. Each round
 * has its own key prefix, deleted afterwards. Prints a table and one
 * `BENCH_JSON {...}` line.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RedisBus } from '../src/bus/redis-bus.js';
import { spread, summarizeLatencies, type LatencySummary } from './common.js';
import { settleWithin } from '../src/util/settle-within.js';

interface Go {
  mode: 'saturate' | 'paced';
  /** Messages per second from this instance (paced). */
  rate: number;
  durationMs: number;
}
interface Report {
  published: number;
  delivered: number;
  /** Delivered when this instance's duration ended (the rate counts these). */
  deliveredInTime: number;
  lost: number;
  duplicates: number;
  dropped: number;
  latencies: number[];
}

const wallMs = (): number => performance.timeOrigin + performance.now();

async function worker(url: string, prefix: string, instanceId: string): Promise<void> {
  const bus = new RedisBus({ url, instanceId, keyPrefix: prefix });
  const latencies: number[] = [];
  let delivered = 0;
  bus.subscribe((message) => {
    if (message.type !== 'room' || message.event.type !== 'message') return;
    delivered += 1;
    latencies.push(wallMs() - Number(message.event.ts));
  });
  await bus.start();
  const text = 'x'.repeat(80);
  let n = 0;
  const publish = (): void => {
    n += 1;
    bus.publish({ type: 'room', event: { type: 'message', id: `${instanceId}-${n}`, from: `user-${instanceId}`, text, ts: String(wallMs()) } });
  };
  process.send!({ ready: true });
  process.once('message', (go: Go) => {
    const ends = Date.now() + go.durationMs;
    const finish = (): void => {
      const deliveredInTime = delivered;
      process.send!({ published: bus.stats().published });
      // Then wait until everything the others published has arrived (or give up after 30 s), and report.
      process.once('message', ({ expect }: { expect: number }) => {
        const giveUp = Date.now() + 30_000;
        const check = (): void => {
          if (delivered < expect && Date.now() < giveUp) return void setTimeout(check, 50);
          const s = bus.stats();
          const report: Report = { published: s.published, delivered, deliveredInTime, lost: s.lost, duplicates: s.duplicates, dropped: s.dropped, latencies };
          process.send!(report, () => void bus.close().then(() => process.exit(0)));
        };
        check();
      });
    };
    if (go.mode === 'saturate') {
      const topUp = (): void => {
        if (Date.now() >= ends) return finish();
        while (bus.stats().buffered < 2000) publish();
        setImmediate(topUp);
      };
      topUp();
    } else {
      const started = Date.now();
      let sent = 0;
      const tick = setInterval(() => {
        const due = Math.floor(((Date.now() - started) / 1000) * go.rate);
        while (sent < due) {
          publish();
          sent += 1;
        }
        if (Date.now() >= ends) {
          clearInterval(tick);
          finish();
        }
      }, 1);
    }
  });
}

interface RoundResult {
  deliveriesPerSecond: number;
  published: number;
  delivered: number;
  lost: number;
  duplicates: number;
  dropped: number;
  latency: LatencySummary;
}

async function round(url: string, instances: number, go: Go): Promise<RoundResult> {
  const prefix = `bench-bus:${randomUUID()}:`;
  const children: ChildProcess[] = [];
  try {
    const ready = Array.from({ length: instances }, (_, i) => {
      const child = fork(fileURLToPath(import.meta.url), ['--worker', url, prefix, `i${i}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      return new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`bus worker exited with ${code}`)));
      });
    });
    await withDeadline(Promise.all(ready), 10_000, 'workers starting');
    const next = <T>(child: ChildProcess): Promise<T> => new Promise<T>((resolve) => child.once('message', (reply: T) => resolve(reply)));
    const ended = children.map((child) => next<{ published: number }>(child));
    for (const child of children) child.send(go);
    const published = await withDeadline(Promise.all(ended), go.durationMs + 15_000, 'workers ending');
    const total = published.reduce((sum, p) => sum + p.published, 0);
    const reports = children.map((child) => next<Report>(child));
    children.forEach((child, i) => child.send({ expect: total - published[i]!.published }));
    const all = await withDeadline(Promise.all(reports), 45_000, 'workers reporting');
    const sum = (pick: (r: Report) => number): number => all.reduce((total, r) => total + pick(r), 0);
    return {
      deliveriesPerSecond: sum((r) => r.deliveredInTime) / (go.durationMs / 1000),
      published: sum((r) => r.published),
      delivered: sum((r) => r.delivered),
      lost: sum((r) => r.lost),
      duplicates: sum((r) => r.duplicates),
      dropped: sum((r) => r.dropped),
      latency: summarizeLatencies(all.flatMap((r) => r.latencies)),
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    const redis = new Redis(url);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return settleWithin(work, ms, () => {
    throw new Error(`${what}: no answer within ${ms} ms`);
  });
}

function flag(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
}

async function main(args: string[]): Promise<void> {
  const url = flag(args, 'redis', process.env.CHAT_TEST_REDIS ?? 'redis://127.0.0.1:6379');
  const instances = Number(flag(args, 'instances', '3'));
  const durationMs = Number(flag(args, 'duration', '5')) * 1000;
  const rounds = Number(flag(args, 'rounds', '3'));
  const rates = flag(args, 'rates', '1000,5000').split(',').map(Number);
  const results: Record<string, RoundResult[]> = {};
  const scenarios: Array<[string, Go]> = [
    ['saturation', { mode: 'saturate', rate: 0, durationMs }],
    ...rates.map((rate): [string, Go] => [`paced ${rate}/s`, { mode: 'paced', rate: rate / instances, durationMs }]),
  ];
  for (const [name, go] of scenarios) {
    results[name] = [];
    for (let r = 0; r < rounds; r++) results[name]!.push(await round(url, instances, go));
  }
  const fmt = (values: number[], digits = 0): string => {
    const s = spread(values);
    return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
  };
  console.log(`bus bench: ${instances} instances, ${durationMs / 1000} s per round, ${rounds} rounds, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}; median (min-max)`);
  console.log('scenario           deliveries/s            p50 ms           p99 ms           published delivered lost dup dropped');
  for (const [name, list] of Object.entries(results)) {
    console.log(
      `${name.padEnd(18)} ${fmt(list.map((r) => r.deliveriesPerSecond)).padEnd(23)} ${fmt(list.map((r) => r.latency.p50), 1).padEnd(16)} ${fmt(list.map((r) => r.latency.p99), 1).padEnd(16)} ` +
        `${list.reduce((t, r) => t + r.published, 0)} ${list.reduce((t, r) => t + r.delivered, 0)} ${list.reduce((t, r) => t + r.lost, 0)} ${list.reduce((t, r) => t + r.duplicates, 0)} ${list.reduce((t, r) => t + r.dropped, 0)}`,
    );
  }
  console.log(`BENCH_JSON ${JSON.stringify({ instances, durationMs, rounds, results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.map(({ latency, ...rest }) => ({ ...rest, p50: latency.p50, p99: latency.p99, max: latency.max }))])) })}`);
}

const args = process.argv.slice(2);
if (args[0] === '--worker') {
  void worker(args[1]!, args[2]!, args[3]!);
} else {
  main(args).catch((error: unknown) => {
    console.error(`bench/bus: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
