/**
 * chat-client in a real pseudo-terminal (python3's pty module, no npm
 * package): the typed line survives incoming messages, and the password is
 * not echoed. Run `npx tsc -p .` first.
 */
import type { ChildProcess } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addUser, OutputCollector, startChatServer, waitForExit, type ChatServerProcess } from '../helpers/chat-server-process.js';
import { startClientInPty } from '../helpers/pty-client.js';
import { WireClient } from '../helpers/wire-client.js';


let server: ChatServerProcess;
const children: ChildProcess[] = [];
const raws: WireClient[] = [];

beforeEach(async () => {
  server = await startChatServer();
  await addUser(server.dbFile, 'ron', 'ron-pw');
  await addUser(server.dbFile, 'bot', 'bot-pw-secret');
});

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await server.stop();
});

function startInPty(): { child: ChildProcess; screen: OutputCollector; type(text: string): void } {
  const client = startClientInPty(server.port);
  children.push(client.child);
  return client;
}

async function ron(): Promise<WireClient> {
  const raw = await WireClient.loginJson(server.port, 'ron', 'ron-pw');
  raws.push(raw);
  return raw;
}

/** Everything written after the first occurrence of `marker`. */
function after(text: string, marker: string): string {
  const at = text.indexOf(marker);
  expect(at).toBeGreaterThanOrEqual(0);
  return text.slice(at + marker.length);
}

describe('chat-client in a pseudo-terminal', () => {
  it('keeps the partial line and its cursor while a message arrives, and never echoes the password', async () => {
    const other = await ron();
    const { child, screen, type } = startInPty();
    await screen.waitFor('Username: ');
    type('bot\r');
    await screen.waitFor('Password: ');
    type('bot-pw-secret\r');
    await screen.waitFor('Welcome, bot');
    await screen.waitFor('bot> ');

    // Type "hello wrld", then move the cursor left three times to just after "w".
    type('hello wrld');
    await screen.waitFor('hello wrld');
    type('\x1b[D\x1b[D\x1b[D');
    await screen.waitFor(/hello wrld(?:\x1b\[\d*D){3}/);

    other.sendJson({ type: 'say', text: 'interrupting you' });
    await screen.waitFor(/interrupting you[^]*bot> hello wrld/);
    // Redrawn below the message: the cursor goes back to column 13 (after "bot> hello w").
    expect(after(screen.text, 'interrupting you')).toMatch(/bot> hello wrld\x1b\[13G/);

    type('o\r');
    const received = await other.waitForJson((m) => m.type === 'message' && m.from === 'bot');
    expect(received.text).toBe('hello world');

    type('c.exit\r');
    expect(await waitForExit(child, 10_000)).toBe(0);
    expect(screen.text).not.toContain('bot-pw-secret');
    expect(screen.text).toContain('Goodbye.');
    await other.waitForJson((m) => m.type === 'leave' && m.user === 'bot' && m.reason === 'quit');
  });

  it('shows the replay under a dim header and a live line, private messages both ways, not_online in one line, and completes names with Tab', async () => {
    const other = await ron();
    other.sendJson({ type: 'say', text: 'before you came', id: 'h' });
    await other.waitForJson((m) => m.type === 'ack');
    const { child, screen, type } = startInPty();
    await screen.waitFor('Username: ');
    type('bot\r');
    await screen.waitFor('Password: ');
    type('bot-pw-secret\r');
    await screen.waitFor('— live —');
    const shown = () => stripVTControlCharacters(screen.text);
    expect(shown()).toMatch(/Welcome, bot[^]*— recent messages —[\r\n]+\d\d:\d\d ron: before you came[\r\n]+(?:bot> )?— live —/);

    other.sendJson({ type: 'dm', to: 'bot', text: 'psst \x1b[2Jclean', id: 'd' });
    await screen.waitFor(/\[private\][^\n]*ron[^\n]*: psst clean/);
    type('/msg ron hi there\r');
    expect(await other.waitForType('dm')).toMatchObject({ from: 'bot', text: 'hi there' });
    await screen.waitFor(/\[private to ron\][^\n]*bot[^\n]*: hi there/);
    type('/msg ghost anyone?\r');
    await screen.waitFor('! ghost is not online.');
    // It waited above the input as (sending...), then became the one not_online line, not a refused own line.
    expect(shown()).not.toMatch(/private to ghost[^\n]*not sent/);
    type('/msg r\t');
    await screen.waitFor('/msg ron ');
    type('completed\r');
    await other.waitForJson((m) => m.type === 'dm' && m.text === 'completed');
    type('c.exit\r');
    expect(await waitForExit(child, 10_000)).toBe(0);
  });

  it('shows a pasted line as sent only once acknowledged, and the ones past the rate limit as not sent, in the line', async () => {
    const other = await ron();
    const { child, screen, type } = startInPty();
    await screen.waitFor('Username: ');
    type('bot\r');
    await screen.waitFor('Password: ');
    type('bot-pw-secret\r');
    await screen.waitFor('bot> ');
    // 15 lines at once: the default burst is 10, so lines 11-15 are refused by the server.
    type(Array.from({ length: 15 }, (_, i) => `line ${i + 1}\r`).join(''));
    await screen.waitFor(/line 15[^\n]*\[not sent: /);
    await other.waitForJson((m) => m.type === 'message' && m.from === 'bot', 5000, 9);
    const received = other.messages.filter((m) => m.type === 'message' && m.from === 'bot').map((m) => m.text);
    expect(received).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 1}`));
    const shown = stripVTControlCharacters(screen.text);
    for (let i = 11; i <= 15; i += 1) expect(shown).toMatch(new RegExp(`bot: line ${i} \\[not sent: Slow down: rate limit reached\\.\\]`));
    for (let i = 1; i <= 10; i += 1) {
      expect(shown).toMatch(new RegExp(`\\d\\d:\\d\\d bot: line ${i}\r*\n`));
      expect(shown).not.toMatch(new RegExp(`bot: line ${i} \\[not sent`));
    }
    // A refused line is never printed as if it had been sent.
    for (let i = 11; i <= 15; i += 1) expect(shown).not.toMatch(new RegExp(`bot: line ${i}\r*\n`));
    type('c.exit\r');
    expect(await waitForExit(child, 10_000)).toBe(0);
  });

  it('asks again after a refused login, shows attempts left, and leaves with Ctrl-D', async () => {
    const other = await ron();
    const { child, screen, type } = startInPty();
    await screen.waitFor('Username: ');
    type('bot\r');
    await screen.waitFor('Password: ');
    type('wrong-guess\r');
    await screen.waitFor('Login failed: invalid username or password. 2 attempt(s) left.');
    await screen.waitFor(/attempt\(s\) left[^]*Username: /);
    type('bot\r');
    await screen.waitFor(/attempt\(s\) left[^]*Password: /);
    type('bot-pw-secret\r');
    await screen.waitFor('Welcome, bot');
    await other.waitForJson((m) => m.type === 'join' && m.user === 'bot');
    type('\x04');
    expect(await waitForExit(child, 10_000)).toBe(0);
    expect(screen.text).not.toContain('wrong-guess');
    expect(screen.text).not.toContain('bot-pw-secret');
    await other.waitForJson((m) => m.type === 'leave' && m.user === 'bot' && m.reason === 'quit');
  });
});
