/**
 * Another process holding the write lock on a chat database, as an admin
 * script, a backup or a `sqlite3` shell left in a transaction would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './chat-server-process.js';

const HOLDER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1], { timeout: 10000 });
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); process.exit(0); });
setTimeout(() => process.exit(3), 60000);
`;

export interface HeldLock {
  /** Commits and exits; resolves once the lock is gone. Idempotent. */
  release(): Promise<void>;
}

function waitForLine(child: ChildProcess, line: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`lock holder did not print ${line} within ${timeoutMs} ms: ${text}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (text.includes(`${line}\n`)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!text.includes(`${line}\n`)) reject(new Error(`lock holder exited with ${code} before ${line}`));
    });
  });
}

/** Takes the database's write lock in another process; resolves once it is held. */
export async function holdWriteLock(dbFile: string): Promise<HeldLock> {
  const child = spawn(process.execPath, ['-e', HOLDER, dbFile], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  await waitForLine(child, 'locked', 10_000);
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= (async () => {
        if (child.exitCode !== null) return;
        const done = waitForLine(child, 'released', 10_000);
        child.stdin!.write('go\n');
        await done;
      })();
      return released;
    },
  };
}
