import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { runAdmin } from '../helpers/chat-server-process.js';
import { auditRows, eventually, queryDb } from '../helpers/db-peek.js';
import { startServer } from '../helpers/server-fixture.js';

type Reply = Record<string, unknown> & { type: string };

/**
 * A JSON-mode connection from a chosen loopback address (Linux routes all of
 * 127.0.0.0/8 to lo), so one machine can play several clients.
 */
class Peer {
  readonly #socket: net.Socket;
  readonly #replies: Reply[] = [];
  #buffer = '';
  #closed = false;
  #wake: () => void = () => undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let newline: number;
      while ((newline = this.#buffer.indexOf('\n')) !== -1) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        if (line.startsWith('{')) this.#replies.push(JSON.parse(line) as Reply);
      }
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  static async open(port: number, from: string): Promise<Peer> {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connect from ${from} timed out`)), 5000);
      socket.once('connect', () => (clearTimeout(timer), resolve()));
      socket.once('error', (error) => (clearTimeout(timer), reject(error)));
    });
    const peer = new Peer(socket);
    peer.send({ type: 'hello', proto: 1 });
    await peer.next((m) => m.type === 'hello');
    return peer;
  }

  send(message: Record<string, unknown>): void {
    this.#socket.write(`${JSON.stringify(message)}\n`);
  }

  /** The first reply `accept` takes, removed from the queue; undefined once the connection closed without one. */
  next(accept: (m: Reply) => boolean, timeoutMs = 10_000): Promise<Reply | undefined> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms; got ${JSON.stringify(this.#replies)}`)), timeoutMs);
      const check = (): void => {
        const index = this.#replies.findIndex(accept);
        if (index >= 0) {
          clearTimeout(timer);
          resolve(this.#replies.splice(index, 1)[0]);
        } else if (this.#closed) {
          clearTimeout(timer);
          resolve(undefined);
        }
      };
      this.#wake = check;
      check();
    });
  }

  async login(username: string, password: string): Promise<Reply> {
    this.send({ type: 'login', username, password });
    const reply = await this.next((m) => m.type === 'login_ok' || m.type === 'login_failed');
    if (reply === undefined) throw new Error('connection closed before the login reply');
    return reply;
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** One login on a fresh connection from `from`; the connection is closed (after `quit` on success). */
async function loginOnce(port: number, from: string, username: string, password: string): Promise<Reply> {
  const peer = await Peer.open(port, from);
  try {
    const reply = await peer.login(username, password);
    if (reply.type === 'login_ok') {
      peer.send({ type: 'quit' });
      await peer.next((m) => m.type === 'bye');
    }
    return reply;
  } finally {
    peer.close();
  }
}

/**
 * The attacker: `parallel` loops reconnecting and guessing wrong passwords
 * for `username` (3 per connection) as fast as the server answers, for `ms`.
 */
async function bruteForce(port: number, username: string, ms: number, parallel = 2): Promise<{ guesses: number; replies: Set<string> }> {
  const deadline = Date.now() + ms;
  let guesses = 0;
  const replies = new Set<string>();
  const loop = async (worker: number): Promise<void> => {
    for (let n = 0; Date.now() < deadline; n += 1) {
      const peer = await Peer.open(port, '127.0.0.9');
      try {
        for (let i = 0; i < 3 && Date.now() < deadline; i += 1) {
          const reply = await peer.login(username, `guess-${worker}-${n}-${i}`);
          guesses += 1;
          replies.add(`${reply.type}/${String(reply.reason)}`);
        }
      } finally {
        peer.close();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, (_, worker) => loop(worker)));
  return { guesses, replies };
}

async function adminJson(dbFile: string, args: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const result = await runAdmin([...args, '--json', '--db', dbFile]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

function loginReasons(dbFile: string): string[] {
  return auditRows(dbFile, 'login').map((row) => String(row.reason));
}

const ATTACK_MS = 5000;

describe('login throttling', () => {
  it('cuts the guesses a reconnecting attacker gets to bcrypt from thousands a minute to the threshold', { timeout: 60_000 }, async () => {
    const perMinute = (count: number) => Math.round((count / ATTACK_MS) * 60_000);
    const results: Record<string, { guesses: number; bcrypt: number; throttled: number }> = {};
    for (const [name, args] of [
      ['off', ['--throttle-window', '0']],
      ['defaults', []],
    ] as const) {
      const f = await startServer(['shon'], args);
      const attack = await bruteForce(f.port, 'shon', ATTACK_MS);
      // Every answer, throttled or not, is the generic one.
      expect([...attack.replies]).toEqual(['login_failed/invalid_credentials']);
      const reasons = loginReasons(f.dbFile);
      results[name] = {
        guesses: attack.guesses,
        bcrypt: reasons.filter((r) => r === 'bad_password').length,
        throttled: reasons.filter((r) => r === 'throttled_address').length,
      };
      if (name === 'defaults') {
        // Even the right password is refused from the locked address, without a bcrypt run.
        // An address lock may say so (it is about the address, not any username): reason unchanged, with when to retry.
        const locked = await loginOnce(f.port, '127.0.0.9', 'shon', 'pw-shon');
        expect(locked).toMatchObject({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 });
        expect(locked.retry_after).toBeGreaterThan(0);
        expect(locked.retry_after).toBeLessThanOrEqual(60);
        expect(locked.message).toBe(`too many failed logins from your address, try again in ${String(locked.retry_after)} s`);
        expect(loginReasons(f.dbFile).at(-1)).toBe('throttled_address');
        // The real user, from another address, is not affected (one address cannot lock a username).
        expect((await loginOnce(f.port, '127.0.0.1', 'shon', 'pw-shon')).type).toBe('login_ok');
        const [row] = await adminJson(f.dbFile, ['throttles']);
        expect(row).toMatchObject({ kind: 'address', key: '127.0.0.9', penaltyLevel: 1 });
        expect(Date.parse(String(row!.lockedUntil)) - Date.now()).toBeGreaterThan(30_000);
      }
    }
    const summary = Object.entries(results).map(
      ([name, r]) => `${name}: ${perMinute(r.guesses)} guesses/min answered, ${perMinute(r.bcrypt)} reached bcrypt/min, ${r.throttled} throttled`,
    );
    console.info(`brute force over loopback for ${ATTACK_MS} ms, 2 connections at a time:\n  ${summary.join('\n  ')}`);
    // 10 is the threshold; attempts already past the check when the lock lands (at most one per other attacking connection) still run.
    expect(results.defaults!.bcrypt).toBeGreaterThanOrEqual(10);
    expect(results.defaults!.bcrypt).toBeLessThanOrEqual(10 + 1);
    expect(results.defaults!.throttled).toBeGreaterThan(0);
    expect(results.off!.throttled).toBe(0);
    expect(results.off!.bcrypt).toBeGreaterThan(results.defaults!.bcrypt * 10);
  });

  it('locks a username guessed from several addresses, yet lets the real user in from a trusted address, after expiry, or after a clear', { timeout: 60_000 }, async () => {
    const f = await startServer(['shon'], ['--throttle-user-failures', '4', '--throttle-address-failures', '100', '--throttle-penalty', '5s', '--throttle-window', '1m']);
    // shon logs in from home (127.0.0.1): that address becomes trusted for shon.
    expect((await loginOnce(f.port, '127.0.0.1', 'shon', 'pw-shon')).type).toBe('login_ok');
    await eventually(() => queryDb(f.dbFile, 'select * from sessions').length === 0, 5000, 'the session to be released');

    const lockShon = async () => {
      for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3']) await loginOnce(f.port, from, 'SHON', 'wrong');
    };
    await lockShon();
    // The first lock lasts 5 s: long enough for the checks below and a chat-admin run on a loaded machine.
    // A correct password from an untrusted address is refused while shon is locked: the lock is no oracle.
    expect(await loginOnce(f.port, '127.0.0.4', 'shon', 'pw-shon')).toEqual({ type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 });
    expect(loginReasons(f.dbFile).at(-1)).toBe('throttled_user');
    // From the trusted address, shon gets in.
    expect((await loginOnce(f.port, '127.0.0.1', 'shon', 'pw-shon')).type).toBe('login_ok');

    const [locked] = await adminJson(f.dbFile, ['throttles']);
    expect(locked).toMatchObject({ kind: 'user', key: 'shon', penaltyLevel: 1, failuresInWindow: 0 });
    // The lock expires by itself: wait (bounded) for the time the server wrote, then log in from anywhere.
    const until = Date.parse(String(locked!.lockedUntil));
    expect(until - Date.now()).toBeLessThanOrEqual(5000);
    await eventually(() => Date.now() > until + 50, 8000, 'the lock to expire');
    expect((await loginOnce(f.port, '127.0.0.4', 'shon', 'pw-shon')).type).toBe('login_ok');

    // A repeat offence locks for twice as long; 127.0.0.4 is trusted now, a new address is not.
    await lockShon();
    const [again] = await adminJson(f.dbFile, ['throttles']);
    expect(again).toMatchObject({ kind: 'user', key: 'shon', penaltyLevel: 2 });
    expect(Date.parse(String(again!.lockedUntil)) - Date.now()).toBeGreaterThan(5000);
    expect((await loginOnce(f.port, '127.0.0.5', 'shon', 'pw-shon')).type).toBe('login_failed');
    expect((await loginOnce(f.port, '127.0.0.4', 'shon', 'pw-shon')).type).toBe('login_ok');
    // An admin clear lifts the lock at once.
    const cleared = await runAdmin(['throttles', 'clear', '--user', 'Shon', '--db', f.dbFile]);
    expect(cleared).toMatchObject({ code: 0, stdout: 'cleared 1 throttle for user shon\n', stderr: '' });
    expect((await loginOnce(f.port, '127.0.0.5', 'shon', 'pw-shon')).type).toBe('login_ok');
    const audit = auditRows(f.dbFile, 'throttle_clear');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ username: 'shon', detail: 'user shon, penalty level 2' });
  });

  // Six chat-admin runs: 18 s on a machine with a load average of 20, so it gets the time its neighbours get.
  it('answers a throttled text-mode attempt with the usual words and costs the connection an attempt', { timeout: 60_000 }, async () => {
    const f = await startServer(['shon'], ['--throttle-address-failures', '2']);
    const text = await f.connect();
    text.write('shon\nbad\nshon\nbad\nshon\npw-shon\n');
    await text.waitForText('! Login failed: invalid username or password. 2 attempt(s) left.\n');
    await text.waitForText('! Login failed: invalid username or password. 1 attempt(s) left.\n');
    await text.waitForText('! Too many failed attempts. Goodbye.');
    expect(text.text).not.toContain('Welcome');
    expect(loginReasons(f.dbFile)).toEqual(['bad_password', 'bad_password', 'throttled_address']);
    expect(auditRows(f.dbFile, 'login').at(-1)).toMatchObject({ outcome: 'failed', username: 'shon' });

    const table = await runAdmin(['throttles', '--db', f.dbFile]);
    expect(table.stdout).toMatch(/^address  127\.0\.0\.1 +0 +\d{4}-\d\d-\d\dT[\d:]+Z +1 /m);
    expect(await runAdmin(['throttles', 'clear', '--db', f.dbFile])).toMatchObject({ code: 2, stdout: '' });
    expect(await runAdmin(['throttles', 'clear', '--all', '--user', 'shon', '--db', f.dbFile])).toMatchObject({ code: 2, stdout: '' });
    expect(await runAdmin(['throttles', 'clear', '--address', '::ffff:127.0.0.1', '--db', f.dbFile])).toMatchObject({
      code: 0,
      stdout: 'cleared 1 throttle for address 127.0.0.1\n',
    });
    expect(await runAdmin(['throttles', 'clear', '--all', '--db', f.dbFile])).toMatchObject({ code: 0, stdout: 'cleared 1 throttle\n' });
    expect((await runAdmin(['throttles', '--db', f.dbFile])).stdout).toBe('no throttles\n');
    await f.text('shon');
  });
});
