/**
 * Several built chat-server instances as child processes on one PostgreSQL
 * database of the test's own and one Redis key prefix of the test's own, as
 * docs/cluster.md runs them. Everything is stopped, dropped and deleted by
 * `stop()`.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { runAdmin, startChatServer, type ChatServerProcess, type RunResult } from './chat-server-process.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { TEST_REDIS_URL } from './services.js';
import { WireClient } from './wire-client.js';

export interface TestCluster {
  readonly db: TestDatabase;
  /** The test's own key prefix. */
  readonly prefix: string;
  readonly instances: ChatServerProcess[];
  /** Starts one more instance on the database and bus (or without the bus). */
  start(options?: { bus?: boolean; args?: readonly string[] }): Promise<ChatServerProcess>;
  /** chat-admin on the cluster's database (and bus, unless `bus: false`). */
  admin(args: readonly string[], options?: { input?: string; bus?: boolean }): Promise<RunResult>;
  /** Adds users `NAME` / `pw-NAME` in one import. */
  addUsers(...names: string[]): Promise<void>;
  /** A JSON-mode client logged in as `name` on `instance` (answering pings), closed by stop(). */
  login(instance: ChatServerProcess, name: string): Promise<WireClient>;
  /** A connection to `instance`, closed by stop(). */
  connect(instance: ChatServerProcess): Promise<WireClient>;
  /** One SQL query on the database. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export async function startCluster(size: number, options: { args?: readonly string[] } = {}): Promise<TestCluster> {
  const db = await createTestDatabase();
  const prefix = `chat-test-${randomBytes(6).toString('hex')}:`;
  const instances: ChatServerProcess[] = [];
  const clients: WireClient[] = [];
  const busArgs = ['--bus', TEST_REDIS_URL, '--bus-prefix', prefix];
  const cluster: TestCluster = {
    db,
    prefix,
    instances,
    async start(startOptions = {}) {
      const instance = await startChatServer({ dbFile: db.url, args: [...(startOptions.bus === false ? [] : busArgs), ...(options.args ?? []), ...(startOptions.args ?? [])], readyTimeoutMs: 20_000 });
      instances.push(instance);
      return instance;
    },
    admin(args, adminOptions = {}) {
      return runAdmin([...args, '--db', db.url, ...(adminOptions.bus === false ? [] : busArgs)], { input: adminOptions.input ?? '', timeoutMs: 30_000 });
    },
    async addUsers(...names) {
      const result = await cluster.admin(['user', 'import'], { input: names.map((name) => `${name}:pw-${name}\n`).join('') });
      if (result.code !== 0) throw new Error(`user import failed (${result.code}): ${result.stderr}`);
    },
    async login(instance, name) {
      const client = await WireClient.loginJson(instance.port, name, `pw-${name}`);
      client.answerPings();
      clients.push(client);
      return client;
    },
    async connect(instance) {
      const client = await WireClient.connect(instance.port);
      clients.push(client);
      return client;
    },
    async query(sql, params = []) {
      const client = new pg.Client({ connectionString: db.url, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async stop() {
      for (const client of clients) client.close();
      await Promise.all(instances.map((instance) => {
        // A stopped (SIGSTOP) instance must be woken to die.
        instance.child.kill('SIGCONT');
        return instance.stop();
      }));
      await db.drop();
      await deleteKeys(prefix);
    },
  };
  for (let i = 0; i < size; i += 1) await cluster.start();
  return cluster;
}

/** Deletes every key under `prefix` on the test Redis. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The cluster tests' polling: db-peek's, which takes async probes too. */
export { eventually } from './db-peek.js';

/** `--bus` and `--bus-prefix` for instances sharing a database in a test: a prefix of its own on the test Redis; `cleanup` deletes its keys. */
export function testBus(): { args: string[]; cleanup: () => Promise<void> } {
  const prefix = `chat-test-${randomBytes(6).toString('hex')}:`;
  return { args: ['--bus', TEST_REDIS_URL, '--bus-prefix', prefix], cleanup: () => deleteKeys(prefix) };
}
