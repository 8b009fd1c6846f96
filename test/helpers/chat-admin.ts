import { expect } from 'vitest';
import { TEST_ENV } from './chat-server-process.js';
import { assertFreshBuild, runCli, type CliResult, type RunCliOptions } from './run-cli.js';
import { createTestDatabase } from './postgres.js';
import type { StoreKind } from './store-targets.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

/** The sources chat-admin is built from; integration tests refuse a stale dist/. */
export const ADMIN_SOURCES = ['src/admin', 'src/accounts', 'src/config', 'src/store', 'src/protocol/usernames.ts', 'migrations'];

export interface AdminFixture {
  dir: TempDir;
  /** Removes the folder, and the PostgreSQL database of a fixture on PostgreSQL. */
  remove(): Promise<void>;
  /** The database file (not created until a verb creates it) or the URL of an empty PostgreSQL database, passed as CHAT_DB. */
  db: string;
  /** Runs chat-admin with CHAT_DB, CHAT_BCRYPT_COST=4 (fast hashing) and CHAT_MIN_PASSWORD_LENGTH=1 (short fixture passwords), through the env vars users have. */
  admin(args: readonly string[], options?: RunCliOptions): Promise<CliResult>;
  /** Adds users (password `pw-NAME`) with one `user import`, failing the test if it fails. */
  addUsers(...names: string[]): Promise<void>;
}

/** On SQLite (the default) a file in a temp folder; on PostgreSQL a database of the fixture's own. */
export async function makeAdminFixture(kind: StoreKind = 'sqlite'): Promise<AdminFixture> {
  assertFreshBuild(ADMIN_SOURCES);
  const dir = await makeTempDir('chat-admin-');
  const target = kind === 'postgres' ? await createTestDatabase() : undefined;
  const db = target?.url ?? dir.file('chat.db');
  const admin = (args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> =>
    runCli('chat-admin', args, { ...options, env: { CHAT_DB: db, ...TEST_ENV, ...options.env } });
  return {
    dir,
    remove: async () => {
      await target?.drop();
      await dir.remove();
    },
    db,
    admin,
    addUsers: async (...names) => {
      expectOk(await admin(['user', 'import'], { stdin: names.map((name) => `${name}:pw-${name}\n`).join('') }));
    },
  };
}

export function expectOk(result: CliResult): void {
  expect(result.stderr.replace(/^created database .*\n/, '')).toBe('');
  expect(result.exitCode).toBe(0);
}

/** One `chat-admin: ...` line on stderr, nothing on stdout, the given exit code. */
export function expectFailure(result: CliResult, exitCode: number, message: RegExp): void {
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^chat-admin: [^\n]+\n$/);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.exitCode).toBe(exitCode);
}
