/** The built chat-client against the built chat-server on loopback. Run `npx tsc -p .` first. */
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addUser,
  CLIENT_MAIN,
  closedPort,
  OutputCollector,
  runAdmin,
  spawnNode,
  startChatServer,
  waitForExit,
  type ChatServerProcess,
} from '../helpers/chat-server-process.js';
import { WireClient } from '../helpers/wire-client.js';

let server: ChatServerProcess;
const raws: WireClient[] = [];
const clients: ChildProcess[] = [];

beforeEach(async () => {
  server = await startChatServer();
  await addUser(server.dbFile, 'ron', 'ron-pw');
  await addUser(server.dbFile, 'bot', 'bot-pw');
});

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  for (const child of clients.splice(0)) child.kill('SIGKILL');
  await server.stop();
});

function startClient(args: string[], env: Record<string, string> = {}) {
  const child = spawnNode(CLIENT_MAIN, [`127.0.0.1:${server.port}`, ...args], env);
  clients.push(child);
  return { child, stdout: new OutputCollector(child.stdout!), stderr: new OutputCollector(child.stderr!) };
}

async function ron(): Promise<WireClient> {
  const raw = await WireClient.loginJson(server.port, 'ron', 'ron-pw');
  raws.push(raw);
  return raw;
}

describe('chat-client end to end', () => {
  it('posts piped lines that another client receives, in order, and exits 0', async () => {
    const other = await ron();
    const { child, stderr } = startClient(['--user', 'bot'], { CHAT_PASSWORD: 'bot-pw' });
    child.stdin!.end('first line\nsecond line\n\nthird line\n');
    expect(await waitForExit(child, 10_000)).toBe(0);
    expect(stderr.text).toBe('');
    await other.waitForJson((m) => m.type === 'message' && m.text === 'third line');
    const said = other.messages.filter((m) => m.type === 'message');
    expect(said.map((m) => [m.from, m.text])).toEqual([
      ['bot', 'first line'],
      ['bot', 'second line'],
      ['bot', 'third line'],
    ]);
    await other.waitForJson((m) => m.type === 'leave' && m.user === 'bot' && m.reason === 'quit');
  });

  it('reads the password from stdin with --password-stdin', async () => {
    const other = await ron();
    const { child } = startClient(['--user', 'bot', '--password-stdin']);
    child.stdin!.end('bot-pw\nfrom a script\n');
    expect(await waitForExit(child, 10_000)).toBe(0);
    await other.waitForJson((m) => m.type === 'message' && m.from === 'bot' && m.text === 'from a script');
  });

  it('prints what others send, answers c.who, and exits 0 on c.exit', async () => {
    const other = await ron();
    const { child, stdout } = startClient(['--user', 'bot'], { CHAT_PASSWORD: 'bot-pw' });
    await other.waitForJson((m) => m.type === 'join' && m.user === 'bot');
    other.sendJson({ type: 'say', text: 'hello bot \x1b[31mred' });
    await stdout.waitFor(/^\d\d:\d\d ron: hello bot red$/m);
    child.stdin!.write('c.who\n');
    await stdout.waitFor(/\* Online now \(2\): (bot, ron|ron, bot)\./);
    child.stdin!.write('c.exit\nnot sent\n');
    expect(await waitForExit(child, 10_000)).toBe(0);
    await other.waitForJson((m) => m.type === 'leave' && m.user === 'bot');
    expect(other.messages.some((m) => m.type === 'message' && m.text === 'not sent')).toBe(false);
    expect(stdout.text).not.toContain('\x1b');
  });

  it('exits 1 and shows the reason when an admin kicks the user', async () => {
    const other = await ron();
    const { child, stderr } = startClient(['--user', 'bot'], { CHAT_PASSWORD: 'bot-pw' });
    await other.waitForJson((m) => m.type === 'join' && m.user === 'bot');
    const kick = await runAdmin(['kick', 'bot', '--reason', 'spamming', '--db', server.dbFile]);
    expect(kick.code).toBe(0);
    expect(await waitForExit(child, 10_000)).toBe(1);
    expect(stderr.text).toMatch(/! You were kicked by an administrator(: spamming)?\. Goodbye\./);
  });

  it('exits 1 at once on a wrong password, without asking again', async () => {
    const { child, stderr } = startClient(['--user', 'bot'], { CHAT_PASSWORD: 'wrong' });
    child.stdin!.end('never sent\n');
    expect(await waitForExit(child, 10_000)).toBe(1);
    expect(stderr.text).toContain('! Login failed: invalid username or password. 2 attempt(s) left.');
  });

  it('exits 2 with one line on stderr when nothing listens', async () => {
    const port = await closedPort();
    const child = spawnNode(CLIENT_MAIN, [`127.0.0.1:${port}`, '--user', 'bot'], { CHAT_PASSWORD: 'x' });
    clients.push(child);
    const stderr = new OutputCollector(child.stderr!);
    child.stdin!.end();
    expect(await waitForExit(child, 10_000)).toBe(2);
    expect(stderr.lines()).toEqual([`chat-client: cannot connect to 127.0.0.1:${port}: connection refused (is chat-server running there?)`]);
  });

  it('exits 2 on a bad address and on a name that does not resolve', async () => {
    for (const [address, message] of [
      ['http://example.org', /^chat-client: unsupported scheme/],
      ['no-such-host.invalid:1', /^chat-client: cannot connect to no-such-host\.invalid:1: host name "no-such-host\.invalid" not found$/],
    ] as const) {
      const child = spawnNode(CLIENT_MAIN, [address, '--user', 'bot', '--connect-timeout', '5'], { CHAT_PASSWORD: 'x' });
      clients.push(child);
      const stderr = new OutputCollector(child.stderr!);
      child.stdin!.end();
      expect(await waitForExit(child, 10_000)).toBe(2);
      expect(stderr.lines()).toHaveLength(1);
      expect(stderr.lines()[0]).toMatch(message);
    }
  });
});
