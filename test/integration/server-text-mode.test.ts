import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

describe('text mode (nc, telnet)', () => {
  it('greets after 250 ms of silence and logs in with the exact wording', async () => {
    const f = await startServer(['shon', 'ron', 'itay']);
    await f.text('ron');
    await f.json('itay');
    const shon = await f.connect();
    await shon.waitForText('chat-server: log in to chat (3 attempts).\nUsername: ');
    shon.write('shon\n');
    await shon.waitForText(/Username: Password: $/);
    shon.write('pw-shon\n');
    await shon.waitForText(/c\.exit \(leave\)\.\n/);
    expect(shon.text).toBe(
      'chat-server: log in to chat (3 attempts).\n' +
        'Username: Password: ' +
        '* Welcome, shon! Online now: ron, itay.\n' +
        '* Type a message and press Enter to send it to everyone else.\n' +
        '* Commands: c.who (who is online), c.msg <user> <text> (a private message), c.help (this help), c.exit (leave).\n',
    );
  });

  it('takes a piped first line as the username, before any greeting', async () => {
    const f = await startServer(['shon']);
    const client = await f.connect();
    client.write('shon\npw-shon\n');
    await client.waitForText(/\* Welcome, shon!/);
    expect(client.text.startsWith('chat-server: log in to chat (3 attempts).\nPassword: * Welcome, shon! Online now: nobody else.\n')).toBe(true);
  });

  it('asks again for an empty username without costing an attempt', async () => {
    const f = await startServer(['shon']);
    const client = await f.connect();
    await client.waitForText('Username: ');
    client.write('\n  \nnobody\nwrong\n');
    await client.waitForText('! Login failed: invalid username or password. 2 attempt(s) left.\nUsername: ');
    expect(client.text.match(/Username: /g)).toHaveLength(4);
  });

  it('refuses with the attempts left, then says goodbye and closes after the third failure', async () => {
    const f = await startServer(['shon']);
    const client = await f.connect();
    client.write('shon\nbad1\n');
    await client.waitForText('! Login failed: invalid username or password. 2 attempt(s) left.\nUsername: ');
    client.write('ghost\nbad2\n');
    await client.waitForText('! Login failed: invalid username or password. 1 attempt(s) left.\nUsername: ');
    client.write('shon\nbad3\n');
    await client.waitForClose();
    expect(client.text.endsWith('Password: ! Too many failed attempts. Goodbye.\n')).toBe(true);
  });

  it('sends messages to everyone else as "name: text", never back to the sender, in order', async () => {
    const f = await startServer(['shon', 'ron', 'itay'], ['--rate-limit', '0']);
    const shon = await f.text('shon');
    const ron = await f.text('ron');
    const itay = await f.json('itay');
    await shon.waitForText('* ron has joined the chat.\n');
    await shon.waitForText('* itay has joined the chat.\n');
    const lines = Array.from({ length: 20 }, (_, i) => `message ${i}`);
    ron.write(lines.map((l) => `${l}\n`).join(''));
    await shon.waitForText('ron: message 19\n');
    expect(shon.text.split('\n').filter((l) => l.startsWith('ron: '))).toEqual(lines.map((l) => `ron: ${l}`));
    const received = await itay.waitForJson((m) => m.type === 'message' && m.text === 'message 19');
    expect(received.from).toBe('ron');
    expect(itay.messages.filter((m) => m.type === 'message').map((m) => m.text)).toEqual(lines);
    ron.write('c.who\n');
    await ron.waitForText(/\* Online now \(3\): .*\n/);
    expect(ron.text).not.toContain('ron: message');
  });

  it('answers c.who, c.help and unknown commands, and c.exit says goodbye', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.text('ron');
    const shon = await f.text('shon');
    shon.write('c.who\n');
    await shon.waitForText('* Online now (2): ron, shon.\n');
    shon.write('c.help\n');
    await shon.waitForText(
      '* Online now (2): ron, shon.\n* Type a message and press Enter to send it to everyone else.\n* Commands: c.who (who is online), c.msg <user> <text> (a private message), c.help (this help), c.exit (leave).\n',
    );
    shon.write('c.foo\n');
    await shon.waitForText('! Unknown command c.foo. Type c.help.\n');
    shon.write('c.exit\n');
    await shon.waitForClose();
    expect(shon.text.endsWith('* Goodbye.\n')).toBe(true);
    await ron.waitForText('* shon left the chat.\n');
    expect(ron.text).not.toContain('c.foo');
  });

  it('accepts CRLF line endings (telnet)', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.json('ron');
    const shon = await f.connect();
    shon.write('shon\r\npw-shon\r\nhello over telnet\r\n');
    const message = await ron.waitForType('message');
    expect(message.text).toBe('hello over telnet');
  });

  it('ends the session at once when a peer drops without c.exit, and the user can log straight back in', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.json('ron');
    const shon = await f.text('shon');
    shon.socket.resetAndDestroy();
    const leave = await ron.waitForType('leave');
    expect(leave).toMatchObject({ user: 'shon', reason: 'disconnected' });
    const again = await f.text('shon');
    again.write('back\n');
    expect((await ron.waitForType('message')).text).toBe('back');
  });

  it('treats a first line starting with "{" after the greeting as JSON mode', async () => {
    const f = await startServer(['shon']);
    const client = await f.connect();
    await client.waitForText('Username: ');
    client.sendJson({ type: 'hello', proto: 1 });
    // The open prompt line is ended first, so the hello reply starts a line of its own.
    await client.waitForText('Username: \n{"type":"hello"');
    const hello = await client.waitForType('hello');
    expect(hello).toMatchObject({ proto: 1, max_attempts: 3, max_line: 4096 });
    expect(String(hello.server)).toMatch(/^chat-server\/\d+\.\d+\.\d+/);
  });

  it('lets a line split across writes and two lines in one write through intact', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.json('ron');
    const shon = await f.text('shon');
    for (const piece of ['hel', 'lo wo', 'rld\nsecond ', 'line\nthi', 'rd\n']) {
      shon.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await ron.waitForJson((m) => m.type === 'message' && m.text === 'third');
    expect(ron.messages.filter((m) => m.type === 'message').map((m) => m.text)).toEqual(['hello world', 'second line', 'third']);
  });
});

describe('a text client sees no JSON', () => {
  it('gets plain notices for joins and leaves', async () => {
    const f = await startServer(['shon', 'ron']);
    const shon = await f.text('shon');
    const ron = await WireClient.loginJson(f.port, 'ron', 'pw-ron');
    ron.sendJson({ type: 'quit' });
    await shon.waitForText('* ron left the chat.\n');
    expect(shon.text).toContain('* ron has joined the chat.\n');
    expect(shon.text).not.toContain('{');
    expect((await ron.waitForType('bye')).reason).toBe('quit');
  });
});
