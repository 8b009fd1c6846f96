/**
 * chat-client gets its session back by itself when the connection drops
 * without a goodbye: the real server as a child process is killed and
 * started again on the same port and database; the client, in a real
 * pseudo-terminal, resumes without asking for the password and the user
 * keeps chatting, the half-typed line intact. After c.exit or a kick it does
 * not reconnect. Run `npx tsc -p .` first.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { addUser, closedPort, OutputCollector, runAdmin, startChatServer, waitForExit, type ChatServerProcess } from '../helpers/chat-server-process.js';
import { auditRows } from '../helpers/db-peek.js';
import { startClientInPty } from '../helpers/pty-client.js';
import { WireClient } from '../helpers/wire-client.js';


const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serverOn(dbFile: string, port: number): Promise<ChatServerProcess> {
  const server = await startChatServer({ dbFile, args: ['--port', String(port)] });
  cleanups.push(() => server.stop());
  return server;
}

function startInPty(port: number): { child: ChildProcess; screen: OutputCollector; type(text: string): void } {
  const client = startClientInPty(port);
  cleanups.push(() => void client.child.kill('SIGKILL'));
  return client;
}

async function ron(port: number): Promise<WireClient> {
  const raw = await WireClient.loginJson(port, 'ron', 'ron-pw');
  cleanups.push(() => raw.close());
  return raw;
}

async function setUp(): Promise<{ dbFile: string; port: number; server: ChatServerProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-reconnect-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const dbFile = join(dir, 'chat.db');
  const port = await closedPort();
  const server = await serverOn(dbFile, port);
  await addUser(dbFile, 'ron', 'ron-pw');
  await addUser(dbFile, 'bot', 'bot-pw-secret');
  return { dbFile, port, server };
}

async function logIn(screen: OutputCollector, type: (text: string) => void): Promise<void> {
  await screen.waitFor('Username: ');
  type('bot\r');
  await screen.waitFor('Password: ');
  type('bot-pw-secret\r');
  await screen.waitFor('bot> ');
}

describe('chat-client reconnects by itself', () => {
  it('after the server is killed and started again on the same port and database: resumes without a password, keeps the typed line, and chats on', async () => {
    const { dbFile, port, server } = await setUp();
    const { child, screen, type } = startInPty(port);
    await logIn(screen, type);

    server.kill('SIGKILL');
    await waitForExit(server.child, 5000);
    await screen.waitFor(/Connection lost; reconnecting in \d+\.\d s\.\.\./);
    // Typed while the server is away: kept on the input line.
    type('still typ');
    await screen.waitFor('still typ');
    // A few attempts fail against the closed port first (each announced), then the server is back.
    await screen.waitFor(/reconnecting in[^]*reconnecting in/, 15_000);
    await serverOn(dbFile, port);
    await screen.waitFor('Reconnected. Online now: nobody else.', 20_000);
    expect(screen.text.split('Password: ')).toHaveLength(2);
    expect(screen.text).not.toContain('logged in again with your password');

    const other = await ron(port);
    other.sendJson({ type: 'say', text: 'are you back?' });
    await screen.waitFor(/are you back\?[^]*bot> still typ/);
    type('ed\r');
    const received = await other.waitForJson((m) => m.type === 'message' && m.from === 'bot');
    expect(received.text).toBe('still typed');
    const resumed = auditRows(dbFile, 'login').filter((row) => row.username === 'bot' && row.outcome === 'ok');
    expect(resumed.map((row) => row.detail)).toEqual([null, 'resume']);

    type('c.exit\r');
    expect(await waitForExit(child, 10_000)).toBe(0);
    expect(screen.text).not.toContain('bot-pw-secret');
  }, 60_000);

  it('falls back to the password it holds when the token is refused, without asking; a refused password is final', async () => {
    const { dbFile, port, server } = await setUp();
    const { child, screen, type } = startInPty(port);
    await logIn(screen, type);
    server.kill('SIGKILL');
    await waitForExit(server.child, 5000);
    await screen.waitFor('reconnecting in');
    // Back with resumption off: the token is refused, the password the client holds is used.
    const again = await startChatServer({ dbFile, args: ['--port', String(port), '--resume-ttl', 'off'] });
    cleanups.push(() => again.stop());
    await screen.waitFor('Reconnected (logged in again with your password). Online now: nobody else.', 20_000);
    expect(screen.text.split('Password: ')).toHaveLength(2);

    // Now the password changes while the server is away: the old one fails, and the client stops.
    again.kill('SIGKILL');
    await waitForExit(again.child, 5000);
    const passwd = await runAdmin(['user', 'passwd', 'bot', '--password-stdin', '--db', dbFile], { input: 'another-pw\n' });
    expect(passwd.code).toBe(0);
    await serverOn(dbFile, port);
    await screen.waitFor('Login failed: invalid username or password', 20_000);
    expect(await waitForExit(child, 10_000)).toBe(1);
    expect(screen.text.split('Password: ')).toHaveLength(2);
    const failed = auditRows(dbFile, 'login').filter((row) => row.outcome === 'failed').map((row) => row.reason);
    expect(failed).toEqual(['resume_off', 'bad_password']);
  }, 60_000);

  it('does not reconnect after c.exit or a kick', async () => {
    const { dbFile, port } = await setUp();
    const first = startInPty(port);
    await logIn(first.screen, first.type);
    first.type('c.exit\r');
    expect(await waitForExit(first.child, 10_000)).toBe(0);
    expect(first.screen.text).not.toContain('reconnecting');

    const second = startInPty(port);
    await logIn(second.screen, second.type);
    const kicked = await runAdmin(['kick', 'bot', '--db', dbFile]);
    expect(kicked.code).toBe(0);
    expect(await waitForExit(second.child, 10_000)).toBe(1);
    const shown = stripVTControlCharacters(second.screen.text);
    expect(shown).toContain('You were kicked by an administrator');
    expect(shown).not.toContain('reconnecting');
  }, 60_000);
});
