/**
 * Spawns the built chat-server and admin CLI for integration tests. Every
 * wait has a timeout, and every child still running when the test process
 * exits is killed. Build first: `npx tsc -p .`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { runCli } from './run-cli.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_MAIN = join(ROOT, 'dist/src/server/main.js');
export const ADMIN_MAIN = join(ROOT, 'dist/src/admin/main.js');
export const CLIENT_MAIN = join(ROOT, 'dist/src/client/main.js');

/**
 * Tests always hash with the cheapest bcrypt cost, and accept the short
 * fixture passwords (`pw-NAME`); the password rule itself is tested with its
 * default in admin-users.test.ts.
 */
export const TEST_ENV: Readonly<Record<string, string>> = { CHAT_BCRYPT_COST: '4', CHAT_MIN_PASSWORD_LENGTH: '1' };

const READY_LINE = /listening on (\S+):(\d+)/;
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Spawns `node file args` with piped stdio; the child is killed when the test process exits. */
export function spawnNode(file: string, args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ChildProcess {
  // CHAT_* settings of the shell running the tests must not leak into the children.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CHAT_')));
  const child = spawn(process.execPath, [file, ...args], {
    cwd: ROOT,
    env: { ...inherited, ...TEST_ENV, NO_COLOR: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves with the exit code (a signal gives 128 + its number); rejects after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(128 + signalNumber(child.signalCode));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? 128 + signalNumber(signal ?? 'SIGKILL'));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

/** Collects a stream's text and lines, and waits for a line that matches. */
export class OutputCollector {
  #text = '';
  #waiters: Array<() => void> = [];

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.#text += chunk;
      for (const wake of this.#waiters) wake();
    });
  }

  get text(): string {
    return this.#text;
  }

  lines(): string[] {
    return this.#text.split('\n').filter((line, i, all) => i < all.length - 1 || line !== '');
  }

  /** Resolves with the first match of `pattern` in the text so far or to come. */
  waitFor(pattern: RegExp | string, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const find = (): RegExpMatchArray | null => (typeof pattern === 'string' ? (this.#text.includes(pattern) ? [pattern] : null) : this.#text.match(pattern));
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        const match = find();
        if (!match) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve(match);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}; output so far:\n${this.#text}`));
      }, timeoutMs);
      this.#waiters.push(wake);
    });
  }
}

export interface StartChatServerOptions {
  /** Database file; default `chat.db` in a fresh temp folder. */
  dbFile?: string;
  /** More server arguments (after --host, --port and --db). */
  args?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** How long to wait for the listening line; default 10 s. */
  readyTimeoutMs?: number;
}

export interface ChatServerProcess {
  readonly host: string;
  readonly port: number;
  readonly dbFile: string;
  /** A fresh temp folder, removed by stop(). */
  readonly dir: string;
  readonly child: ChildProcess;
  readonly stdout: OutputCollector;
  readonly stderr: OutputCollector;
  stdoutLines(): string[];
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 5 s); resolves with the exit code. Idempotent. */
  stop(timeoutMs?: number): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts the built server on 127.0.0.1 and a free port and waits until it listens. */
export async function startChatServer(options: StartChatServerOptions = {}): Promise<ChatServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-test-'));
  const dbFile = options.dbFile ?? join(dir, 'chat.db');
  const child = spawnNode(SERVER_MAIN, ['--host', '127.0.0.1', '--port', '0', '--db', dbFile, ...(options.args ?? [])], options.env);
  child.stdin!.end();
  const stdout = new OutputCollector(child.stdout!);
  const stderr = new OutputCollector(child.stderr!);
  let stopping: Promise<number> | undefined;
  const stop = (timeoutMs = 5000): Promise<number> => {
    stopping ??= (async () => {
      try {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        try {
          return await waitForExit(child, timeoutMs);
        } catch {
          child.kill('SIGKILL');
          return await waitForExit(child, 2000);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };
  const exited = waitForExit(child, options.readyTimeoutMs ?? 10_000).then(
    (code) => Promise.reject(new Error(`chat-server exited with ${code} before listening:\n${stderr.text}${stdout.text}`)),
    () => new Promise<never>(() => undefined),
  );
  let match: RegExpMatchArray;
  try {
    match = await Promise.race([stdout.waitFor(READY_LINE, options.readyTimeoutMs ?? 10_000), exited]);
  } catch (error) {
    await stop(1000);
    throw error;
  }
  return {
    host: match[1]!,
    port: Number(match[2]),
    dbFile,
    dir,
    child,
    stdout,
    stderr,
    stdoutLines: () => stdout.lines(),
    stop,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
  };
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built admin CLI (`chat-admin`) to completion, with bcrypt cost 4. */
export async function runAdmin(args: readonly string[], options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  const result = await runCli('chat-admin', args, { stdin: options.input ?? '', env: { ...TEST_ENV, ...options.env }, timeoutMs: options.timeoutMs ?? 15_000 });
  return { code: result.exitCode ?? 128, stdout: result.stdout, stderr: result.stderr };
}

/** Adds a user with the admin CLI (bcrypt cost 4); throws with the CLI's stderr if it fails. */
export async function addUser(dbFile: string, name: string, password: string): Promise<void> {
  const result = await runAdmin(['user', 'add', name, '--password-stdin', '--db', dbFile], { input: `${password}\n` });
  if (result.code !== 0) throw new Error(`chat-admin user add ${name} exited with ${result.code}: ${result.stderr}${result.stdout}`);
}

/** A port on 127.0.0.1 with nothing listening (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
