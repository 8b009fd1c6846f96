/**
 * Tests that need a real service (PostgreSQL, Redis, a redis-server binary)
 * ask here first. Without the service the tests are skipped with one line
 * naming what to start, unless CHAT_TEST_REQUIRE_SERVICES=1 (CI sets it):
 * then a missing service is a failure.
 */
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';

export const REQUIRE_SERVICES = process.env.CHAT_TEST_REQUIRE_SERVICES === '1';

export const TEST_REDIS_URL = process.env.CHAT_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/**
 * Resolves true when the service answered. When it did not: with
 * CHAT_TEST_REQUIRE_SERVICES=1 rejects (a top-level await of this fails the
 * file), otherwise prints one line and resolves false (for `describe.skipIf`).
 */
export async function serviceAvailable(what: string, howToStart: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    const line = `${what} not reachable (${error instanceof Error ? error.message : String(error)}): ${howToStart}`;
    if (REQUIRE_SERVICES) throw new Error(`CHAT_TEST_REQUIRE_SERVICES=1 and ${line}`);
    console.warn(`skipped: ${line}`);
    return false;
  }
}

/** The shared Redis of CHAT_TEST_REDIS (default redis://127.0.0.1:6379). */
export function redisAvailable(url = TEST_REDIS_URL): Promise<boolean> {
  return serviceAvailable(`Redis at ${url}`, 'start redis-server, or set CHAT_TEST_REDIS', async () => {
    const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1000, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  });
}

/** A `redis-server` binary on PATH, for tests that run their own. */
export function redisServerAvailable(): Promise<boolean> {
  return serviceAvailable('redis-server', 'install it (apt-get install redis-server)', async () => {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 5000 });
  });
}
