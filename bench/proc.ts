/** CPU time and memory of local processes from /proc (Linux), for the benches' CPU-per-delivery and memory figures. */
import { readFileSync } from 'node:fs';
import { nowMs, sleep } from './common.js';

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
export const TICKS_PER_SECOND = 100;

/** utime + stime of the process (every thread) in clock ticks, or with `mainThread` of its main thread alone (whose thread id is the pid). */
export function cpuTicks(pid: number, mainThread = false): number {
  const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** utime + stime of the process (every thread), in ms. */
export function cpuMs(pid: number): number {
  return (cpuTicks(pid) * 1000) / TICKS_PER_SECOND;
}

/** VmRSS and its peak (VmHWM) of the process, in KiB. */
export function readRssKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Waits until the process used at most 2 ticks of CPU in half a second, or `timeoutMs`; returns how long it waited. */
export async function waitQuiet(pid: number, timeoutMs: number): Promise<number> {
  const started = nowMs();
  let before = cpuTicks(pid);
  while (nowMs() - started < timeoutMs) {
    await sleep(500);
    const after = cpuTicks(pid);
    if (after - before <= 2) break;
    before = after;
  }
  return nowMs() - started;
}
