import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { serviceAvailable } from './services.js';

/** The shared PostgreSQL of CHAT_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres). */
export const TEST_POSTGRES_URL = process.env.CHAT_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function postgresAvailable(url = TEST_POSTGRES_URL): Promise<boolean> {
  return serviceAvailable(`PostgreSQL at ${url}`, 'start PostgreSQL (user postgres, trust auth on 127.0.0.1:5432), or set CHAT_TEST_POSTGRES', async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** URL of a fresh, empty database of its own. */
  readonly url: string;
  /** Drops it (closing whatever is still connected). */
  drop(): Promise<void>;
}

/** A database of the test's own on the shared server, dropped by `drop()`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `chat_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`create database ${name}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(async (client) => void (await client.query(`drop database if exists ${name} with (force)`))),
  };
}
