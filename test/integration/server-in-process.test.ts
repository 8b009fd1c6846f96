/**
 * createChatServer built and run inside the test process (listening on port
 * 0, closed after each test), with time injected: the rules whose timing is
 * pure are tested without waiting for it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createChatServer, type ChatServer } from '../../src/server/chat-server.js';
import { buildServerConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { insertUser } from '../../src/store/users.js';
import { InlineHasher } from '../helpers/inline-hasher.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { WireClient } from '../helpers/wire-client.js';

interface Running {
  server: ChatServer;
  store: Store;
  port: number;
  log: string[];
  /** The injected clock: advance it to move the server's time. */
  clock: { ms: number };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(flags: Record<string, string>, users: readonly string[]): Promise<Running> {
  const dir: TempDir = await makeTempDir();
  cleanups.push(() => dir.remove());
  const config = buildServerConfig({ host: '127.0.0.1', port: '0', db: dir.file('chat.db'), 'bcrypt-cost': '4', 'hash-workers': '1', ...flags }, {});
  const store: Store = await openStore({ file: config.dbFile, create: true });
  cleanups.push(() => store.close());
  const hasher = new InlineHasher();
  for (const name of users) await insertUser(store.db, { username: name, passwordHash: await hasher.hash(`pw-${name}`, 4), at: new Date().toISOString() });
  const log: string[] = [];
  const clock = { ms: Date.now() };
  const server = await createChatServer({ config, store, hasher, logger: createLogger((line) => log.push(line)), serverName: 'chat-server/test', clock: () => new Date(clock.ms) });
  const address = await server.listen();
  cleanups.push(() => server.close());
  return { server, store, port: address.port, log, clock };
}

async function attempt(client: WireClient, username: string, password: string, nth: number) {
  client.sendJson({ type: 'login', username, password });
  return client.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed', 5000, nth);
}

describe('createChatServer in process, with an injected clock', () => {
  it('builds, listens on port 0, serves a login, and closes', async () => {
    const run = await start({}, ['shon']);
    const shon = await WireClient.loginJson(run.port, 'shon', 'pw-shon');
    expect(run.server.connectionCount).toBe(1);
    await run.server.close();
    expect(await shon.waitForType('bye')).toEqual({ type: 'bye', reason: 'shutdown' });
    await run.server.close();
  });

  it('an address lock ends exactly when the injected clock passes the penalty', async () => {
    const run = await start({ 'throttle-address-failures': '3', 'throttle-penalty': '1m', 'max-attempts': '10' }, ['shon']);
    const client = await WireClient.connect(run.port);
    cleanups.push(() => client.close());
    client.sendJson({ type: 'hello', proto: 1 });
    let n = 0;
    for (let i = 0; i < 3; i += 1) expect((await attempt(client, 'shon', 'wrong', n++)).reason).toBe('invalid_credentials');
    // Locked: the right password is refused like a wrong one.
    expect((await attempt(client, 'shon', 'pw-shon', n++)).reason).toBe('invalid_credentials');
    run.clock.ms += 59_000;
    expect((await attempt(client, 'shon', 'pw-shon', n++)).reason).toBe('invalid_credentials');
    run.clock.ms += 1_001;
    expect((await attempt(client, 'shon', 'pw-shon', n++)).type).toBe('login_ok');
  });

  it('heartbeat: a ping per silent interval, the fourth silent interval ends the session; a client heard in every interval is never pinged', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const run = await start({ heartbeat: '30s' }, ['quiet', 'chatty']);
    const quiet = await WireClient.loginJson(run.port, 'quiet', 'pw-quiet');
    const chatty = await WireClient.loginJson(run.port, 'chatty', 'pw-chatty');
    cleanups.push(() => quiet.close());
    cleanups.push(() => chatty.close());
    const tick = async (): Promise<void> => {
      await vi.advanceTimersByTimeAsync(30_000);
    };
    // Chatty speaks in every interval (a who and its answer, so the server surely heard it); quiet says nothing.
    const speak = async (n: number): Promise<void> => {
      chatty.sendJson({ type: 'who' });
      await chatty.waitForJson((m) => m.type === 'who', 5000, n);
    };
    // The first interval after login counts the login itself as heard.
    await speak(0);
    await tick();
    expect(quiet.messages.some((m) => m.type === 'ping')).toBe(false);
    for (let ping = 0; ping < 3; ping += 1) {
      await speak(ping + 1);
      await tick();
      await quiet.waitForJson((m) => m.type === 'ping', 5000, ping);
    }
    await speak(4);
    await tick();
    expect(await quiet.waitForType('bye')).toEqual({ type: 'bye', reason: 'timeout' });
    expect(chatty.closed).toBe(false);
    expect(chatty.messages.some((m) => m.type === 'ping')).toBe(false);
    expect(quiet.messages.filter((m) => m.type === 'ping')).toHaveLength(3);
  });

  it('last_activity_at moves after a user speaks (and only then), flushed by the activity timer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const run = await start({}, ['talker', 'silent']);
    const talker = await WireClient.loginJson(run.port, 'talker', 'pw-talker');
    const silent = await WireClient.loginJson(run.port, 'silent', 'pw-silent');
    cleanups.push(() => talker.close());
    cleanups.push(() => silent.close());
    const activity = async (name: string): Promise<string> =>
      (await run.store.db.selectFrom('sessions').select('last_activity_at').where('username', '=', name).executeTakeFirstOrThrow()).last_activity_at;
    const loggedInAt = await activity('silent');
    run.clock.ms += 60_000;
    talker.sendJson({ type: 'say', text: 'hello', id: 'm1' });
    await talker.waitForJson((m) => m.type === 'ack');
    await vi.advanceTimersByTimeAsync(5000);
    const spokeAt = new Date(run.clock.ms).toISOString();
    for (let i = 0; i < 100 && (await activity('talker')) !== spokeAt; i += 1) await vi.advanceTimersByTimeAsync(100);
    expect(await activity('talker')).toBe(spokeAt);
    expect(await activity('silent')).toBe(loggedInAt);
  });
});
