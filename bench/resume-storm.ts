/**
 * The resume storm (issue 12, "Failover that users barely notice"): N users
 * log in with their password at bcrypt cost 12, all at once, against one
 * server; then every connection drops, and the same N come back with
 * `resume` and their token, all at once. Measured: the time from the first
 * attempt to the last `login_ok` of each phase, and each client's wait.
 * Clients run in this process (loopback); the server is a child process.
 */
import net from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { hashPassword } from '../src/accounts/passwords.js';
import { openStore, writeTransaction } from '../src/store/open-store.js';
import { issueResumeToken, newResumeToken } from '../src/store/resume-tokens.js';
import { insertUser } from '../src/store/users.js';
import { nowMs, sleep, summarizeLatencies, type LatencySummary } from './common.js';

export interface ResumeStormPlan {
  /** Users who resume at once. */
  users: number;
  /**
   * Of them, how many log in with their password first (all at once), which
   * is the other half of the comparison; the rest get their token straight
   * from the store, as a login would have written it (a loaded machine takes
   * many minutes for 1000 logins at cost 12).
   */
  passwordUsers: number;
  /** The bcrypt cost of every user's hash (and the server's --bcrypt-cost). */
  cost: number;
}

export interface ResumeStormPhase {
  kind: 'password' | 'resume';
  ok: number;
  failed: number;
  /** `server_busy` answers, each followed by a new attempt. */
  busy: number;
  /** First attempt to last login_ok. */
  seconds: number;
  perClientMs: LatencySummary;
}

export interface ResumeStormResult {
  plan: ResumeStormPlan;
  phases: ResumeStormPhase[];
}

export interface ResumeStormDeps {
  /** Starts a server on this database with these extra flags. */
  start(dbFile: string, args: string[]): Promise<{ port: number; stop(): Promise<void> }>;
  workDir: string;
  log(line: string): void;
}

const PASSWORD = 'bench-resume-pw';
/**
 * The limits that would refuse a storm from one address (all clients come
 * from 127.0.0.1) are off; the login queue keeps its default, and a client
 * told `server_busy` tries again on a new connection after chat-client's
 * backoff (0.25 s doubling to 10 s, ±50%), as chat-client does.
 */
const FLAGS = ['--rate-limit', '0', '--max-connections', '0', '--max-per-address', '0', '--max-prelogin', '0', '--max-prelogin-per-address', '0', '--max-prelogin-per-prefix', '0', '--heartbeat', '0', '--login-timeout', '0', '--throttle-window', '0'];
export const BACKOFF_MIN_MS = 250;
export const BACKOFF_MAX_MS = 10_000;
const PHASE_TIMEOUT_MS = 15 * 60_000;

/** One JSON-mode connection that logs in (or resumes) once and reports its login_ok. */
export function authenticate(port: number, request: Record<string, unknown>): Promise<{ socket: net.Socket; reply: Record<string, unknown>; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const socket = net.connect({ port, host: '127.0.0.1' });
    let buffer = '';
    socket.setEncoding('utf8');
    socket.once('error', reject);
    // Closed before an answer (the server died or dropped it): a no-op once resolved.
    socket.once('close', () => reject(new Error('closed before login_ok or login_failed')));
    socket.once('connect', () => socket.write(`${JSON.stringify({ type: 'hello', proto: 1, client: 'bench' })}\n${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        const message = JSON.parse(line) as Record<string, unknown>;
        if (message.type === 'login_ok' || message.type === 'login_failed') {
          socket.removeAllListeners('data');
          socket.on('data', () => undefined);
          resolve({ socket, reply: message, ms: nowMs() - started });
          return;
        }
      }
    });
  });
}

/** One client's way in: again after each `server_busy`, on a new connection, after a jittered backoff. */
async function untilAnswered(port: number, request: Record<string, unknown>, busy: { count: number }): Promise<{ socket: net.Socket; reply: Record<string, unknown>; ms: number }> {
  const started = nowMs();
  let base = BACKOFF_MIN_MS;
  for (;;) {
    const result = await authenticate(port, request);
    if (result.reply.reason !== 'server_busy') return { ...result, ms: nowMs() - started };
    busy.count += 1;
    result.socket.destroy();
    await sleep(Math.round(base * (0.5 + Math.random())));
    base = Math.min(base * 2, BACKOFF_MAX_MS);
  }
}

async function phase(kind: ResumeStormPhase['kind'], requests: Record<string, unknown>[], port: number): Promise<{ phase: ResumeStormPhase; sockets: net.Socket[]; replies: Record<string, unknown>[] }> {
  const started = nowMs();
  let timer: NodeJS.Timeout | undefined;
  const busy = { count: 0 };
  const all = Promise.all(requests.map((request) => untilAnswered(port, request, busy)));
  const results = await Promise.race([all, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${kind} phase did not finish within ${PHASE_TIMEOUT_MS / 1000} s`)), PHASE_TIMEOUT_MS)))]);
  clearTimeout(timer);
  const seconds = (nowMs() - started) / 1000;
  const ok = results.filter((r) => r.reply.type === 'login_ok').length;
  return {
    phase: { kind, ok, failed: results.length - ok, busy: busy.count, seconds, perClientMs: summarizeLatencies(results.map((r) => r.ms)) },
    sockets: results.map((r) => r.socket),
    replies: results.map((r) => r.reply),
  };
}

async function waitForNoSessions(dbFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const db = new Database(dbFile, { readonly: true, timeout: 5000 });
  try {
    while ((db.prepare('select count(*) as n from sessions').get() as { n: number }).n > 0) {
      if (Date.now() > deadline) throw new Error(`sessions still live ${timeoutMs} ms after every connection dropped`);
      await sleep(50);
    }
  } finally {
    db.close();
  }
}

export async function scenarioResumeStorm(plan: ResumeStormPlan, deps: ResumeStormDeps): Promise<ResumeStormResult> {
  const dbFile = join(deps.workDir, 'resume-storm.db');
  const names = Array.from({ length: plan.users }, (_, i) => `r${String(i).padStart(5, '0')}`);
  const passwordUsers = Math.min(plan.passwordUsers, plan.users);
  const issued: string[] = [];
  const store = await openStore({ file: dbFile, create: true });
  try {
    // One hash shared by every user: each login still runs one full compare at this cost.
    const hash = await hashPassword(PASSWORD, plan.cost);
    const at = new Date().toISOString();
    await writeTransaction(store.db, async (trx) => {
      for (const [i, username] of names.entries()) {
        const user = await insertUser(trx, { username, passwordHash: hash, at });
        if (i < passwordUsers) continue;
        const token = newResumeToken();
        await issueResumeToken(trx, { token, userId: user.id, usernameKey: user.username_key, sessionId: `bench-${i}`, at: Date.now(), ttlMs: 86_400_000 });
        issued.push(token);
      }
    });
  } finally {
    await store.close();
  }
  const server = await deps.start(dbFile, [...FLAGS, '--bcrypt-cost', String(plan.cost)]);
  try {
    deps.log(`resume storm: ${passwordUsers} password logins at cost ${plan.cost}, all at once`);
    const logins = await phase('password', names.slice(0, passwordUsers).map((username) => ({ type: 'login', username, password: PASSWORD })), server.port);
    deps.log(`  ${logins.phase.ok} ok in ${logins.phase.seconds.toFixed(1)} s`);
    const tokens = [...logins.replies.map((reply) => reply.resume), ...issued];
    if (tokens.some((token) => typeof token !== 'string')) throw new Error('a login_ok came without a resume token');
    for (const socket of logins.sockets) socket.destroy();
    await waitForNoSessions(dbFile, 60_000);
    deps.log(`resume storm: every connection dropped; ${plan.users} resumes, all at once`);
    const resumes = await phase('resume', tokens.map((token) => ({ type: 'resume', token })), server.port);
    deps.log(`  ${resumes.phase.ok} ok in ${resumes.phase.seconds.toFixed(1)} s`);
    for (const socket of resumes.sockets) socket.destroy();
    return { plan, phases: [logins.phase, resumes.phase] };
  } finally {
    await server.stop();
  }
}

export const RESUME_STORM_HEAD = ['resume storm (one server)', 'ok / failed', 'busy answers (retried)', 'first attempt to last login_ok', 'per client p50 / p99'];

export function formatResumeStorm(result: ResumeStormResult): string[][] {
  return result.phases.map((p) => [
    p.kind === 'password' ? `${p.ok + p.failed} password logins, cost ${result.plan.cost}` : `${p.ok + p.failed} resumes`,
    `${p.ok} / ${p.failed}`,
    String(p.busy),
    `${p.seconds.toFixed(2)} s`,
    `${(p.perClientMs.p50 / 1000).toFixed(2)} / ${(p.perClientMs.p99 / 1000).toFixed(2)} s`,
  ]);
}
