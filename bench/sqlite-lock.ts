import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';

/** The holder script, from the build (it runs as its own node process). */
function holderScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Loaded from bench/*.ts by the test runner, or from dist/bench/*.js by the bench.
  return here.endsWith(join('dist', 'bench')) ? join(here, 'sqlite-lock-holder.js') : join(here, '..', 'dist', 'bench', 'sqlite-lock-holder.js');
}

/** Whether another connection holds the write lock on `file` right now (a write would have to wait). */
export function isWriteLocked(file: string): boolean {
  const db = new SqliteDatabase(file, { timeout: 0, fileMustExist: true });
  try {
    db.exec('begin immediate');
    db.exec('rollback');
    return false;
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) return true;
    throw error;
  } finally {
    db.close();
  }
}

export interface HeldLock {
  /** Ends the holder's transaction (if still held) and waits for the process to exit. */
  release(): Promise<void>;
  /** Resolves when the holder has exited (after `holdMs`, or after release). */
  readonly exited: Promise<void>;
}

/**
 * Another real process (node with better-sqlite3) holding the SQLite write
 * lock on `file` with BEGIN IMMEDIATE, for `holdMs` or until released.
 * Resolves once the lock is seen held from this process: the holder's own
 * "locked" line may reach a busy parent late, so it is not trusted for timing.
 */
export async function holdWriteLock(file: string, holdMs: number, timeoutMs = 10_000): Promise<HeldLock> {
  const child = spawn(process.execPath, [holderScript(), file, String(holdMs)], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!isWriteLocked(file)) {
    if (gone || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the lock holder did not take the write lock on ${file}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return {
    exited,
    // Idempotent; a holder that already let go (holdMs passed) resolves at once.
    release: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
