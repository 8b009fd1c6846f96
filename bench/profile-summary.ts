/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time aggregated
 * by function and file, and by file alone.
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top N] [--from-us T --to-us T]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTimeRow {
  name: string;
  where: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: SelfTimeRow[];
  byFile: SelfTimeRow[];
}

/** Shortens a script url to something readable: a path inside the project, `node:...`, or the bare name. */
function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const marker = url.indexOf('/dist/');
  if (marker !== -1) return url.slice(marker + 1);
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) return url.slice(modules + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * Aggregates self time. With `window` (microseconds on the profile's clock,
 * which on Linux is the CLOCK_MONOTONIC that `process.hrtime` reads), only
 * samples inside it count: startup and login work can be left out.
 */
export function summarizeProfile(profile: CpuProfile, top = 25, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const byId = new Map<number, ProfileNode>(profile.nodes.map((node) => [node.id, node]));
  const selfById = new Map<number, number>();
  let at = profile.startTime;
  // timeDeltas[i] is the time since the previous sample: it belongs to samples[i - 1], the one that was running.
  for (let i = 0; i < profile.samples.length; i += 1) {
    at += profile.timeDeltas[i] ?? 0;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfById.set(id, (selfById.get(id) ?? 0) + Math.max(0, delta));
  }
  let totalUs = 0;
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const file = new Map<string, number>();
  for (const [id, us] of selfById) {
    const node = byId.get(id);
    if (node === undefined) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '(native)' : `${shortUrl(url)}:${lineNumber + 1}`;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const key = `${name}\u0000${where}`;
    const row = fn.get(key) ?? { name, where, us: 0 };
    row.us += us;
    fn.set(key, row);
    const fileKey = url === '' ? name.startsWith('(') ? name : '(native)' : shortUrl(url);
    file.set(fileKey, (file.get(fileKey) ?? 0) + us);
  }
  const pct = (us: number) => (totalUs === 0 ? 0 : (100 * us) / totalUs);
  const byFunction = [...fn.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((row) => ({ name: row.name, where: row.where, selfMs: row.us / 1000, percent: pct(row.us) }));
  const byFile = [...file.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, us]) => ({ name: '', where, selfMs: us / 1000, percent: pct(us) }));
  return { totalMs: totalUs / 1000, byFunction, byFile };
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

export function formatSummary(summary: ProfileSummary): string {
  const lines = [`total sampled time ${summary.totalMs.toFixed(0)} ms`, '', 'self time by function:'];
  for (const row of summary.byFunction) lines.push(`  ${row.percent.toFixed(1).padStart(5)}%  ${row.selfMs.toFixed(0).padStart(7)} ms  ${row.name}  ${row.where}`);
  lines.push('', 'self time by file:');
  for (const row of summary.byFile) lines.push(`  ${row.percent.toFixed(1).padStart(5)}%  ${row.selfMs.toFixed(0).padStart(7)} ms  ${row.where}`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? undefined : Number(process.argv[i + 1]);
  };
  const from = arg('--from-us');
  const to = arg('--to-us');
  const window = from !== undefined && to !== undefined ? { fromUs: from, toUs: to } : undefined;
  process.stdout.write(formatSummary(summarizeProfile(readProfile(file), arg('--top') ?? 25, window)) + '\n');
}
