/**
 * The bench's own databases on a shared PostgreSQL server (the cluster and
 * history scenarios): created with a random name, dropped by their owner at
 * the end however the run ends.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where the benches create (and drop) their databases: CHAT_TEST_POSTGRES, as for the tests, or the local server. */
export const BENCH_POSTGRES_URL = process.env.CHAT_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  /** The server URL with this database's name. */
  url: string;
  /** Its name, e.g. to use it as a template. */
  name: string;
  drop(): Promise<void>;
}

export async function adminQuery(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** A new database on the server of `serverUrl`; a copy of `template` (a database nobody is connected to) when given. */
export async function createDatabase(serverUrl: string, template?: string): Promise<BenchDatabase> {
  const name = `chat_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}${template === undefined ? '' : ` template ${template}`}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => adminQuery(serverUrl, `drop database if exists ${name} with (force)`).then(() => undefined) };
}
