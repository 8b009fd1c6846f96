import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json is). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunCliOptions {
  /** Written to the child's standard input, which is then closed (closed at once when absent). */
  stdin?: string;
  /** Added to the environment; `undefined` removes a variable. CHAT_* variables of the test runner are never inherited. */
  env?: Record<string, string | undefined>;
  /** The child is killed and the promise rejects after this long. Default 10000. */
  timeoutMs?: number;
  cwd?: string;
}

export interface CliResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The built script of a package.json `bin` entry (`chat-admin` → dist/src/admin/main.js). */
export function binPath(binName: string): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const script = pkg.bin[binName];
  if (script === undefined) throw new Error(`package.json has no bin named ${binName}`);
  return join(REPO_ROOT, script);
}

/**
 * Runs a built CLI with `node`, as a user would, and collects its output
 * and exit code.
 */
export async function runCli(binName: string, args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const child = spawn(process.execPath, [binPath(binName), ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env ?? {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // The child may exit before reading its input (a usage error): that EPIPE is not the test's concern.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${binName} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr });
    });
  });
}

function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('CHAT_')) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/**
 * Throws unless every .ts file in `sources` (folders or files, relative to the repository
 * root) has a compiled .js in dist/ at least as new, so integration tests
 * never pass against a stale build. Run `npm run build` first.
 */
export function assertFreshBuild(sources: readonly string[]): void {
  const stale: string[] = [];
  for (const path of sources) {
    for (const source of listTs(join(REPO_ROOT, path))) {
      const built = join(REPO_ROOT, 'dist', relative(REPO_ROOT, source)).replace(/\.ts$/, '.js');
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) stale.push(relative(REPO_ROOT, source));
    }
  }
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: run \`npx tsc -p .\` first`);
}

function listTs(path: string): string[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}
