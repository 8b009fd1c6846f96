/**
 * Instances on one database that would not share a room refuse to start:
 * without a bus while another instance lives, with a bus while one runs
 * without, or on another bus prefix. A row left by a dead instance does not
 * stop a start: a process of this host that is gone is cleared at once, a
 * heartbeat that stands still (another host) after the stale time.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputCollector, SERVER_MAIN, spawnNode, waitForExit } from '../helpers/chat-server-process.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { redisAvailable, TEST_REDIS_URL } from '../helpers/services.js';

const withServices = (await postgresAvailable()) && (await redisAvailable());

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** Runs chat-server on the cluster's database until it exits; resolves with its exit code and output. */
async function refusedStart(db: string, args: readonly string[]): Promise<{ code: number; stderr: string; stdout: string; ms: number }> {
  const started = Date.now();
  const child = spawnNode(SERVER_MAIN, ['--host', '127.0.0.1', '--port', '0', '--db', db, ...args]);
  child.stdin!.end();
  const stdout = new OutputCollector(child.stdout!);
  const stderr = new OutputCollector(child.stderr!);
  const code = await waitForExit(child, 15_000).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}; it should have refused:\n${stdout.text}${stderr.text}`);
  });
  return { code, stderr: stderr.text, stdout: stdout.text, ms: Date.now() - started };
}

function expectOneLine(result: { code: number; stderr: string; stdout: string }, pattern: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^chat-server: [^\n]+\n$/);
  expect(result.stderr).toMatch(pattern);
  expect(result.stdout).not.toMatch(/listening on/);
}

describe.skipIf(!withServices)('instances that would split the room refuse to start', { timeout: 60_000 }, () => {
  it('a second instance without a bus refuses, naming the one running and the fix; the first goes on serving', async () => {
    cluster = await startCluster(0);
    await cluster.addUsers('shon');
    const first = await cluster.start({ bus: false });
    const second = await refusedStart(cluster.db.url, []);
    expectOneLine(second, /another chat-server is running on this database without a shared bus, which would split the room: instance [0-9a-f]{8} \(.+ pid \d+, 127\.0\.0\.1:\d+\); start every instance with --bus redis:\/\/HOST:PORT \(CHAT_BUS\)/);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    const rows = await cluster.query<{ pid: number }>('select pid from instances');
    expect(rows.map((row) => row.pid)).toEqual([first.child.pid]);
    const shon = await cluster.login(first, 'shon');
    expect(shon.closed).toBe(false);
  });

  it('an instance with a bus refuses while one runs without; so does one on another bus prefix', async () => {
    cluster = await startCluster(0);
    const plain = await cluster.start({ bus: false });
    const withBus = await refusedStart(cluster.db.url, ['--bus', TEST_REDIS_URL, '--bus-prefix', cluster.prefix]);
    expectOneLine(withBus, /another chat-server is running on this database without a bus, which would split the room: .*restart it with --bus and --bus-prefix chat-test-/);
    await plain.stop();
    await cluster.start();
    const otherPrefix = await refusedStart(cluster.db.url, ['--bus', TEST_REDIS_URL, '--bus-prefix', `${cluster.prefix}other:`]);
    expectOneLine(otherPrefix, /with bus prefix chat-test-[0-9a-f]+:, not chat-test-[0-9a-f]+:other:, .*give every instance the same --bus-prefix/);
  });

  it('an unreachable bus fails the start with one line', async () => {
    cluster = await startCluster(0);
    const result = await refusedStart(cluster.db.url, ['--bus', 'redis://127.0.0.1:1', '--bus-prefix', cluster.prefix]);
    expectOneLine(result, /cannot reach the bus at redis:\/\/127\.0\.0\.1:1/);
  });

  it('after kill -9 of the only instance, one without a bus starts at once; a dead row of another host is cleared after the stale time', async () => {
    cluster = await startCluster(0);
    await cluster.addUsers('shon');
    const first = await cluster.start({ bus: false });
    await cluster.login(first, 'shon');
    first.kill('SIGKILL');
    await waitForExit(first.child, 5000);
    // A row of another host, whose heartbeat never moves, with a session on it.
    const ghost = randomUUID();
    const at = new Date().toISOString();
    await cluster.query(`insert into instances (id, hostname, pid, listen_address, started_at, heartbeat_at) values ($1, 'elsewhere', 1, '10.0.0.9:12345', $2, $2)`, [ghost, at]);
    await cluster.query(`insert into sessions (id, user_id, username, username_key, instance_id, peer_address, mode, connected_at, last_activity_at) values ($1, null, 'ghost', 'ghost', $2, '10.0.0.1', 'json', $3, $3)`, [randomUUID(), ghost, at]);
    const started = Date.now();
    const second = await cluster.start({ bus: false });
    const waited = Date.now() - started;
    // It watched the other row for the stale time (3 s) before taking it for dead.
    expect(waited).toBeGreaterThanOrEqual(2900);
    expect(second.stdout.text).toMatch(/cleared_stale_sessions count=2 users=(shon,ghost|ghost,shon)/);
    const ends = await cluster.query<{ username: string; reason: string }>(`select username, reason from audit_log where event = 'session_end' order by username`);
    expect(ends).toEqual([
      { username: 'ghost', reason: 'server_crashed' },
      { username: 'shon', reason: 'server_crashed' },
    ]);
    await cluster.login(second, 'shon');
  });
});
