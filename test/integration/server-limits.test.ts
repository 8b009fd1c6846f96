import { describe, expect, it } from 'vitest';
import { runAdmin } from '../helpers/chat-server-process.js';
import { auditRows, eventually } from '../helpers/db-peek.js';
import { startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('liveness', () => {
  it('closes a connection that does not log in within --login-timeout, in both modes', async () => {
    const f = await startServer(['shon'], ['--login-timeout', '600ms']);
    const json = await f.connect();
    json.sendJson({ type: 'hello', proto: 1 });
    const text = await f.connect();
    await json.waitForClose(5000);
    await text.waitForClose(5000);
    expect(json.messages.at(-1)).toEqual({ type: 'bye', reason: 'login_timeout' });
    expect(text.text.endsWith('! Login timed out. Goodbye.\n')).toBe(true);
  });

  it('pings a silent JSON client every heartbeat and ends it after three missed pings', async () => {
    const f = await startServer(['shon', 'ron', 'itay'], ['--heartbeat', '150ms']);
    const watcher = await f.json('ron');
    watcher.answerPings();
    const silent = await f.json('shon');
    const answering = await f.json('itay');
    answering.answerPings();
    expect(await silent.waitForType('bye')).toEqual({ type: 'bye', reason: 'timeout' });
    await silent.waitForClose();
    expect(silent.messages.filter((m) => m.type === 'ping')).toHaveLength(3);
    expect(await watcher.waitForJson((m) => m.type === 'leave' && m.user === 'shon')).toMatchObject({ reason: 'timeout' });
    // Those answering their pings are still there.
    answering.sendJson({ type: 'who' });
    expect((await answering.waitForType('who')).users).toEqual(['ron', 'itay']);
    expect(answering.messages.some((m) => m.type === 'ping')).toBe(true);
  });

  it('ends a silent text session after --idle-timeout', async () => {
    const f = await startServer(['shon'], ['--idle-timeout', '500ms']);
    const shon = await f.text('shon');
    await shon.waitForClose(5000);
    expect(shon.text.endsWith('! Connection timed out. Goodbye.\n')).toBe(true);
  });

  it('accepts only a few KiB before login', async () => {
    const f = await startServer(['shon'], ['--max-login-line', '256']);
    const client = await f.connect();
    client.write('\n'.repeat(4096));
    await client.waitForClose(5000);
    expect(client.text.endsWith('! Too much input before login. Goodbye.\n')).toBe(true);
    expect(client.text).not.toContain('Too many failed attempts');
  });

  it('ends a JSON client past the pre-login byte budget with its own reason, too_much_input', async () => {
    const f = await startServer(['shon'], ['--max-login-line', '256']);
    const client = await f.connect();
    client.sendJson({ type: 'hello', proto: 1 });
    await client.waitForType('hello');
    client.write(`${JSON.stringify({ type: 'pong' })}\n`.repeat(200));
    expect(await client.waitForType('bye')).toEqual({ type: 'bye', reason: 'too_much_input' });
    await client.waitForClose(5000);
  });
});

describe('slow readers', () => {
  it('drops a client that never reads as slow_consumer while 200 others chat and get every message', async () => {
    const users = names('c', 201);
    const f = await startServer(users, ['--rate-limit', '0', '--max-per-address', '0', '--max-prelogin-per-address', '0', '--login-queue', '0', '--sendq', '64KiB']);
    const clients: WireClient[] = [];
    for (let i = 0; i < users.length; i += 40) clients.push(...(await Promise.all(users.slice(i, i + 40).map((n) => f.json(n)))));
    const [stuck, ...others] = clients as [WireClient, ...WireClient[]];
    // Never reads, but asks for a 1.5 KB who list thousands of times: ~7 MB for it alone,
    // more than the kernel buffers (about 4 MB on loopback) plus its 64 KiB send queue.
    stuck.socket.pause();
    stuck.write('{"type":"who"}\n'.repeat(5000));
    const senders = others.slice(0, 20);
    for (let k = 0; k < 5; k += 1) for (const [s, sender] of senders.entries()) sender.sendJson({ type: 'say', text: `s${s}-${k}` });
    const total = senders.length * 5;
    await Promise.all(others.map((c, i) => c.waitForJson((m) => m.type === 'message', 20_000, total - (i < senders.length ? 5 : 0) - 1)));
    const leave = await others[0]!.waitForJson((m) => m.type === 'leave' && m.user === 'c0', 20_000);
    expect(leave.reason).toBe('disconnected');
    const end = await eventually(() => auditRows(f.dbFile, 'session_end').find((r) => r.username === 'c0'), 5000, 'the audit row');
    expect(end.reason).toBe('slow_consumer');
    expect(f.server.stdout.text).toMatch(/slow_consumer user=c0/);
    // 201 logins first: on a loaded 2-core machine that alone can pass the default 20 s test timeout.
  }, 60_000);

  it('drops a client whose output makes no progress for --write-timeout', async () => {
    const f = await startServer(['shon', 'ron', 'itay'], ['--rate-limit', '0', '--sendq', '0', '--write-timeout', '1s', '--max-line', '64KiB']);
    const stuck = await f.json('shon');
    const watcher = await f.json('itay');
    const sender = await f.json('ron');
    stuck.socket.pause();
    const text = 'y'.repeat(60 * 1024);
    // Enough to fill the kernel buffers on loopback, then keep a few queued.
    for (let i = 0; i < 150; i += 1) sender.sendJson({ type: 'say', text });
    const leave = await watcher.waitForJson((m) => m.type === 'leave' && m.user === 'shon', 15_000);
    expect(leave.reason).toBe('timeout');
  });
});

describe('rate limits', () => {
  it('refuses messages past the burst with rate_limited, and disconnects a user who keeps flooding', async () => {
    const f = await startServer(['shon', 'ron'], ['--rate-limit', '1', '--rate-burst', '3']);
    const ron = await f.json('ron');
    const shon = await f.json('shon');
    for (let i = 0; i < 5; i += 1) shon.sendJson({ type: 'say', text: `m${i}`, id: `${i}` });
    const error = await shon.waitForType('error');
    expect(error.code).toBe('rate_limited');
    await ron.waitForJson((m) => m.type === 'message' && m.text === 'm2');
    expect(shon.messages.filter((m) => m.type === 'ack').map((m) => m.id)).toEqual(['0', '1', '2']);
    // Keep going at many times the limit: cut off.
    for (let i = 0; i < 30; i += 1) shon.sendJson({ type: 'say', text: `flood${i}` });
    expect(await shon.waitForType('bye')).toEqual({ type: 'bye', reason: 'flooding' });
    expect(ron.messages.filter((m) => m.type === 'message')).toHaveLength(3);
  });

  it('tells a text user to slow down', async () => {
    const f = await startServer(['shon'], ['--rate-limit', '1', '--rate-burst', '1']);
    const shon = await f.text('shon');
    shon.write('one\ntwo\n');
    await shon.waitForText('! Slow down: rate limit reached.\n');
  });
});

describe('connection limits', () => {
  it('answers one readable line and closes past --max-connections', async () => {
    const f = await startServer([], ['--max-connections', '2']);
    await f.connect();
    await f.connect();
    const third = await f.connect();
    await third.waitForClose();
    expect(third.text).toBe('! Server busy: too many connections. Try again later.\n');
  });

  it('answers one readable line and closes past --max-per-address', async () => {
    const f = await startServer([], ['--max-per-address', '1']);
    const first = await f.connect();
    const second = await f.connect();
    await second.waitForClose();
    expect(second.text).toBe('! Too many connections from your address. Try again later.\n');
    first.close();
    // The slot is free again once the server has seen the first one go.
    await f.server.stdout.waitFor(/info disconnect peer=127\.0\.0\.1:\d+ reason=disconnected/);
    const third = await WireClient.connect(f.port);
    await third.waitForText('Username: ');
    third.close();
  });

  it('refuses connections past the pre-login caps early, and counts a logged-in connection no more', async () => {
    const f = await startServer(['shon'], ['--max-prelogin-per-address', '2']);
    const first = await f.connect();
    await f.connect();
    const third = await f.connect();
    await third.waitForClose();
    expect(third.text).toBe('! Too many logins in progress from your address. Try again later.\n');
    first.write('shon\npw-shon\n');
    await first.waitForText('* Welcome, shon!');
    const fourth = await f.connect();
    await fourth.waitForText('Username: ');
  });

  it('refuses connections past the total pre-login cap', async () => {
    const f = await startServer([], ['--max-prelogin', '1']);
    await f.connect();
    const second = await f.connect();
    await second.waitForClose();
    expect(second.text).toBe('! Server busy: too many logins in progress. Try again later.\n');
  });

  it('tells logins past a full password-check queue that the server is busy, at no attempt cost', async () => {
    const f = await startServer([], ['--hash-workers', '1', '--login-queue', '1', '--max-prelogin-per-address', '0']);
    const users = names('q', 8);
    const added = await runAdmin(['user', 'import', '--db', f.dbFile, '--bcrypt-cost', '9'], { input: users.map((u) => `${u}:pw-${u}\n`).join('') });
    expect(added.code).toBe(0);
    const clients = await Promise.all(users.map(() => f.connect()));
    for (const [i, c] of clients.entries()) {
      c.sendJson({ type: 'hello', proto: 1 });
      c.sendJson({ type: 'login', username: users[i], password: `pw-${users[i]}` });
    }
    const replies = await Promise.all(clients.map((c) => c.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed', 15_000)));
    const busy = replies.filter((r) => r.type === 'login_failed');
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) expect(r).toEqual({ type: 'login_failed', reason: 'server_busy', attempts_left: 3 });
    expect(replies.some((r) => r.type === 'login_ok')).toBe(true);
  });
});
