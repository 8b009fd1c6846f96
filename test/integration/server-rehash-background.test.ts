/**
 * A password stored at another bcrypt cost is rehashed after a successful
 * login, in the background; that work must never take the hash workers from
 * logins (issue 14: a reconnect storm after a change of cost queued a
 * rehash behind every login and kept most users out). In process, with a
 * hasher that says how busy it is and whose rehashes the test releases.
 */
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/accounts/hash-pool.js';
import { createChatServer } from '../../src/server/chat-server.js';
import { buildServerConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { insertUser } from '../../src/store/users.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { WireClient } from '../helpers/wire-client.js';

/** Real bcrypt on this thread; `otherWork` stands for password checks of other logins; rehashes wait for `release()`. */
class GatedHasher implements PasswordHasher {
  otherWork = 0;
  hashesStarted = 0;
  #running = 0;
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => undefined;
  readonly saturated = false;

  get pending(): number {
    return this.otherWork + this.#running;
  }

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open();
  }

  async compare(password: string, hash: string): Promise<boolean> {
    this.#running += 1;
    try {
      return await bcrypt.compare(password, hash);
    } finally {
      this.#running -= 1;
    }
  }

  async hash(password: string, cost: number): Promise<string> {
    this.hashesStarted += 1;
    this.#running += 1;
    try {
      await this.#gate;
      return await bcrypt.hash(password, cost);
    } finally {
      this.#running -= 1;
    }
  }

  async close(): Promise<void> {}
}

/** Polls an asynchronous condition until it holds; fails after `timeoutMs`. */
async function until(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server at cost 4 whose users are stored at cost 5 (password `pw-NAME`). */
async function start(users: readonly string[]) {
  const dir = await makeTempDir();
  cleanups.push(() => dir.remove());
  const config = buildServerConfig({ host: '127.0.0.1', port: '0', db: dir.file('chat.db'), 'bcrypt-cost': '4' }, {});
  const store: Store = await openStore({ file: config.dbFile, create: true });
  cleanups.push(() => store.close());
  for (const name of users) await insertUser(store.db, { username: name, passwordHash: await bcrypt.hash(`pw-${name}`, 5), at: new Date().toISOString() });
  const hasher = new GatedHasher();
  const log: string[] = [];
  const server = await createChatServer({ config, store, hasher, logger: createLogger((line) => log.push(line)), serverName: 'chat-server/test' });
  const { port } = await server.listen();
  cleanups.push(() => server.close());
  // The server made its dummy hash at start: count only what logins start.
  hasher.hashesStarted = 0;
  const costOf = async (name: string): Promise<number> => {
    const row = await store.db.selectFrom('users').select('password_hash').where('username', '=', name).executeTakeFirstOrThrow();
    return Number(row.password_hash.split('$')[2]);
  };
  const login = async (name: string): Promise<WireClient> => {
    const client = await WireClient.loginJson(port, name, `pw-${name}`);
    cleanups.push(() => client.close());
    return client;
  };
  return { hasher, log, costOf, login };
}

describe('background rehash never competes with logins', () => {
  it('a login while other password checks wait or run is not rehashed; its next login on an idle pool is', async () => {
    const run = await start(['shon']);
    run.hasher.otherWork = 1;
    const first = await run.login('shon');
    // The rehash would have started before the login was answered.
    expect(run.hasher.hashesStarted).toBe(0);
    first.sendJson({ type: 'quit' });
    await first.waitForClose();
    expect(await run.costOf('shon')).toBe(5);

    run.hasher.otherWork = 0;
    await run.login('shon');
    expect(run.hasher.hashesStarted).toBe(1);
    await until(async () => (await run.costOf('shon')) === 4, 5000, 'the hash at cost 4');
    await until(() => run.log.some((line) => line.includes('info rehashed user=shon from_cost=5 to_cost=4')), 5000, 'the rehashed line');
  });

  it('one rehash at a time: a second user logging in meanwhile keeps the old cost until a later login', async () => {
    const run = await start(['shon', 'ana']);
    run.hasher.hold();
    await run.login('shon');
    const ana = await run.login('ana');
    expect(run.hasher.hashesStarted).toBe(1);
    run.hasher.release();
    await until(async () => (await run.costOf('shon')) === 4, 5000, "shon's hash at cost 4");
    expect(await run.costOf('ana')).toBe(5);

    ana.sendJson({ type: 'quit' });
    await ana.waitForClose();
    await until(() => run.hasher.pending === 0, 5000, 'an idle pool');
    await run.login('ana');
    await until(async () => (await run.costOf('ana')) === 4, 5000, "ana's hash at cost 4");
    expect(run.hasher.hashesStarted).toBe(2);
  });
});
