/** CPU time of local processes from /proc (Linux), for the bench's CPU-per-delivery figures. */
import { readFileSync } from 'node:fs';

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
