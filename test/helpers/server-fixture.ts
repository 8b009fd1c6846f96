/**
 * A running chat-server (the built binary) on a temp database with users
 * `NAME` / `pw-NAME`, added through `chat-admin user import` like an admin would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { runAdmin, startChatServer, type ChatServerProcess } from './chat-server-process.js';
import { createStoreTarget, type StoreKind } from './store-targets.js';
import { WireClient } from './wire-client.js';

export interface ServerFixture {
  server: ChatServerProcess;
  port: number;
  dbFile: string;
  /** Runs chat-admin against this server's database; throws if it fails. */
  admin(args: readonly string[], input?: string): Promise<string>;
  json(name: string): Promise<WireClient>;
  text(name: string): Promise<WireClient>;
  /** A connection that has not said anything yet. */
  connect(): Promise<WireClient>;
}

const cleanups: Array<() => Promise<unknown> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export async function importUsers(dbFile: string, names: readonly string[], extraArgs: readonly string[] = []): Promise<void> {
  if (names.length === 0) return;
  const result = await runAdmin(['user', 'import', '--db', dbFile, ...extraArgs], { input: names.map((n) => `${n}:pw-${n}\n`).join(''), timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`user import failed (${result.code}): ${result.stderr}`);
}

/** Starts a server with these users; everything is stopped after the test. */
export async function startServer(
  users: readonly string[],
  args: readonly string[] = [],
  env: Record<string, string> = {},
  options: { dbFile?: string; store?: StoreKind } = {},
): Promise<ServerFixture> {
  let dbFile = options.dbFile;
  if (dbFile === undefined && options.store === 'postgres') {
    // A database of the test's own, dropped after the server has stopped (cleanups run last first).
    const target = await createStoreTarget('postgres');
    cleanups.push(() => target.remove());
    dbFile = target.location;
  }
  const server = await startChatServer({ args, env, ...(dbFile === undefined ? {} : { dbFile }) });
  cleanups.push(() => server.stop());
  await importUsers(server.dbFile, users);
  const track = (client: WireClient) => {
    cleanups.push(() => client.close());
    return client;
  };
  return {
    server,
    port: server.port,
    dbFile: server.dbFile,
    async admin(adminArgs, input) {
      const result = await runAdmin([...adminArgs, '--db', server.dbFile], { input: input ?? '' });
      if (result.code !== 0) throw new Error(`chat-admin ${adminArgs.join(' ')} failed (${result.code}): ${result.stderr}`);
      return result.stdout;
    },
    json: async (name) => track(await WireClient.loginJson(server.port, name, `pw-${name}`)),
    text: async (name) => track(await WireClient.loginText(server.port, name, `pw-${name}`)),
    connect: async () => track(await WireClient.connect(server.port)),
  };
}

/** A temp folder that outlives a server's stop (which removes the server's own folder), removed after the test. */
export function keptDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-kept-'));
  cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Registers extra cleanup for the current test (for example a second server). */
export function onCleanup(cleanup: () => Promise<unknown> | void): void {
  cleanups.push(cleanup);
}
