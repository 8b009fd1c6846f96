import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runClient, type ClientIo } from '../../src/client/app.js';
import { ChatClient, ConnectError } from '../../src/client/chat-client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { encodeJsonEvent, parseClientMessage } from '../../src/protocol/json-codec.js';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import type { ClientMessage, ServerMessage } from '../../src/protocol/messages.js';
import { closedPort } from '../helpers/chat-server-process.js';

type Script = (message: ClientMessage, peer: FakePeer) => void;

/** One accepted connection of the fake server, speaking through the real codec. */
class FakePeer {
  readonly received: ClientMessage[] = [];
  #wake: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {}
  record(message: ClientMessage): void {
    this.received.push(message);
    for (const wake of this.#wake) wake();
  }
  /** Resolves once a message of `type` has arrived. */
  waitFor(type: ClientMessage['type'], timeoutMs = 2000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!this.received.some((m) => m.type === type)) return;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.#wake.push(check);
      check();
    });
  }
  send(message: ServerMessage): void {
    this.socket.write(encodeJsonEvent(message)!);
  }
  raw(text: string): void {
    this.socket.write(text);
  }
}

const servers: net.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A fake chat-server on loopback; `script` answers each parsed client message. */
async function fakeServer(script: Script, onConnect?: (peer: FakePeer) => void): Promise<{ port: number; peers: FakePeer[] }> {
  const peers: FakePeer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const peer = new FakePeer(socket);
    peers.push(peer);
    onConnect?.(peer);
    const splitter = new LineSplitter(4096);
    socket.on('data', (chunk) => {
      for (const event of splitter.push(chunk)) {
        if (event.kind !== 'line') continue;
        const message = parseClientMessage(event.line);
        peer.record(message);
        script(message, peer);
      }
    });
  });
  (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections = () => sockets.forEach((s) => s.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, peers };
}

const HELLO: ServerMessage = { type: 'hello', proto: 1, server: 'chat-server/test', max_attempts: 3, max_line: 200 };
const LOGIN_OK: ServerMessage = { type: 'login_ok', username: 'bot', users: [], help: 'help' };

/** Answers hello and login (password "pw"), acks says with an id, says bye to quit. */
function basicScript(extra?: Script): Script {
  return (message, peer) => {
    if (message.type === 'hello') peer.send(HELLO);
    else if (message.type === 'login') {
      peer.send(message.password === 'pw' ? LOGIN_OK : { type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 });
    } else if (message.type === 'quit') {
      peer.send({ type: 'bye', reason: 'quit' });
      peer.socket.end();
    }
    extra?.(message, peer);
  };
}

function pipedIo(input: string) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  stdin.end(input);
  const io: ClientIo = { stdin, stdout, stderr, now: () => new Date(2025, 0, 1, 12, 0) };
  return { io, out: () => out, err: () => err };
}

const options = (port: number, over: Partial<ClientOptions> = {}): ClientOptions => ({
  address: { host: '127.0.0.1', port },
  user: 'bot',
  password: { kind: 'env', value: 'pw' },
  connectTimeoutMs: 2000,
  color: false,
  interactive: false,
  ...over,
});

const fastTiming = { quitTimeoutMs: 1000, ackTimeoutMs: 2000, loginTimeoutMs: 2000, rateLimitRetryMs: [50, 50] };

describe('ChatClient against a fake server', () => {
  it('skips text before the hello reply, answers ping, ignores unknown types and fields', async () => {
    const { port, peers } = await fakeServer(
      (message, peer) => {
        if (message.type === 'hello') {
          peer.raw('chat-server: log in to chat (3 attempts).\nUsername: \n');
          peer.raw(`${JSON.stringify({ ...HELLO, future: 1 })}\n`);
        }
        if (message.type === 'login') {
          peer.send(LOGIN_OK);
          peer.raw('{"type":"sparkle","x":1}\nnot json\n{"type":"ping"}\n');
          peer.raw(`${JSON.stringify({ type: 'message', from: 'ron', text: 'hi', ts: '2025-01-01T00:00:00Z', extra: [1] })}\n`);
        }
      },
      (peer) => peer.raw('noise before anything\n'),
    );
    const client = await ChatClient.connect({ host: '127.0.0.1', port }, { timeoutMs: 2000, clientName: 'test' });
    expect(client.status).toBe('ready');
    expect(client.serverHello?.server).toBe('chat-server/test');
    const seen: string[] = [];
    client.on('message', (m) => seen.push(m.type));
    const message = client.next((m) => m.type === 'message', 2000);
    expect((await client.login('bot', 'pw')).type).toBe('login_ok');
    expect(client.status).toBe('chatting');
    expect(await message).toMatchObject({ from: 'ron', text: 'hi' });
    expect(seen).toEqual(['login_ok', 'ping', 'message']);
    await peers[0]!.waitFor('pong');
    expect(peers[0]!.received.map((m) => m.type)).toEqual(['hello', 'login', 'pong']);
    expect(peers[0]!.received[0]).toMatchObject({ type: 'hello', proto: 1, client: 'test' });
    client.destroy();
  });

  it('ends with the bye it got before the close', async () => {
    const { port } = await fakeServer((message, peer) => {
      if (message.type === 'hello') peer.send(HELLO);
      if (message.type === 'login') {
        peer.send(LOGIN_OK);
        peer.send({ type: 'bye', reason: 'kicked', message: 'enough' });
        peer.socket.end();
      }
    });
    const client = await ChatClient.connect({ host: '127.0.0.1', port }, { timeoutMs: 2000, clientName: 'test' });
    const ended = new Promise((resolve) => client.once('end', resolve));
    await client.login('bot', 'pw');
    expect(await ended).toMatchObject({ bye: { reason: 'kicked', message: 'enough' } });
    expect(client.status).toBe('closed');
  });

  it('fails to connect with a coded error: refused, or no hello reply in time', async () => {
    const port = await closedPort();
    await expect(ChatClient.connect({ host: '127.0.0.1', port }, { timeoutMs: 2000, clientName: 't' })).rejects.toMatchObject({
      code: 'refused',
      message: expect.stringContaining('connection refused'),
    });
    const silent = await fakeServer(() => undefined);
    const failure = ChatClient.connect({ host: '127.0.0.1', port: silent.port }, { timeoutMs: 300, clientName: 't' });
    await expect(failure).rejects.toBeInstanceOf(ConnectError);
    await expect(failure).rejects.toMatchObject({ code: 'timeout' });
  });
});

describe('piped mode against a fake server', () => {
  it('sends each line as a say with an id, in order, and quits after the last ack', async () => {
    const { port, peers } = await fakeServer(
      basicScript((message, peer) => {
        if (message.type === 'login') peer.send({ type: 'message', from: 'ron', text: 'welcome bot', ts: '2025-01-01T00:00:00Z' });
        if (message.type === 'say') setTimeout(() => peer.send({ type: 'ack', id: message.id! }), 20);
      }),
    );
    const { io, out, err } = pipedIo('one\n\n  \ntwo\r\nthree');
    expect(await runClient(options(port), io, '1.0.0', fastTiming)).toBe(0);
    const received = peers[0]!.received;
    expect(received.map((m) => m.type)).toEqual(['hello', 'login', 'say', 'say', 'say', 'quit']);
    expect(received.filter((m) => m.type === 'say')).toEqual([
      { type: 'say', text: 'one', id: '1' },
      { type: 'say', text: 'two', id: '2' },
      { type: 'say', text: 'three', id: '3' },
    ]);
    expect(out()).toMatch(/^\d\d:\d\d ron: welcome bot\n$/);
    expect(err()).toBe('');
  });

  it('prints a message that arrives in the same read as login_ok (before its listener is attached)', async () => {
    const { port } = await fakeServer((message, peer) => {
      if (message.type === 'hello') peer.send(HELLO);
      else if (message.type === 'login') {
        // One write: the client reads both lines at once and resolves the login only afterwards.
        peer.raw(encodeJsonEvent(LOGIN_OK)! + encodeJsonEvent({ type: 'message', from: 'ron', text: 'right after login', ts: '2025-01-01T00:00:00Z' })!);
      } else if (message.type === 'say') peer.send({ type: 'ack', id: message.id! });
      else if (message.type === 'quit') {
        peer.send({ type: 'bye', reason: 'quit' });
        peer.socket.end();
      }
    });
    const { io, out } = pipedIo('hi\n');
    expect(await runClient(options(port), io, '1', fastTiming)).toBe(0);
    expect(out()).toMatch(/^\d\d:\d\d ron: right after login\n$/);
  });

  it('takes the password from the first stdin line with --password-stdin', async () => {
    const { port, peers } = await fakeServer(basicScript((m, peer) => m.type === 'say' && peer.send({ type: 'ack', id: m.id! })));
    const { io } = pipedIo('pw\nhello\n');
    expect(await runClient(options(port, { password: { kind: 'stdin' } }), io, '1', fastTiming)).toBe(0);
    expect(peers[0]!.received.find((m) => m.type === 'login')).toEqual({ type: 'login', username: 'bot', password: 'pw' });
    expect(peers[0]!.received.filter((m) => m.type === 'say')).toEqual([{ type: 'say', text: 'hello', id: '1' }]);
  });

  it('resends a rate-limited line after a delay, and reports it', async () => {
    let refusals = 1;
    const { port, peers } = await fakeServer(
      basicScript((m, peer) => {
        if (m.type !== 'say') return;
        if (m.text === 'b' && refusals-- > 0) peer.send({ type: 'error', code: 'rate_limited', message: 'Slow down: rate limit reached.' });
        else peer.send({ type: 'ack', id: m.id! });
      }),
    );
    const { io, err } = pipedIo('a\nb\nc\n');
    expect(await runClient(options(port), io, '1', fastTiming)).toBe(0);
    expect(peers[0]!.received.filter((m) => m.type === 'say').map((m) => (m as { text: string }).text)).toEqual(['a', 'b', 'b', 'c']);
    expect(err()).toContain('line 2: rate limited by the server, sending again');
  });

  it('exits 1 when a line is never accepted, but still sends the rest', async () => {
    const { port, peers } = await fakeServer(
      basicScript((m, peer) => {
        if (m.type !== 'say') return;
        if (m.text === 'b') peer.send({ type: 'error', code: 'rate_limited', message: 'Slow down.' });
        else peer.send({ type: 'ack', id: m.id! });
      }),
    );
    const long = 'x'.repeat(300); // over max_line 200: never sent
    const { io, err } = pipedIo(`a\nb\n${long}\nc\n`);
    expect(await runClient(options(port), io, '1', fastTiming)).toBe(1);
    expect(peers[0]!.received.filter((m) => m.type === 'say').map((m) => (m as { text: string }).text)).toEqual(['a', 'b', 'b', 'b', 'c']);
    expect(err()).toContain('line 2 not delivered: Slow down.');
    expect(err()).toContain("line 3 not sent: longer than the server's limit (200 bytes)");
    expect(err()).toContain('2 line(s) not delivered');
  });

  it('exits 1 at once on a refused login, with the reason on stderr', async () => {
    const { port, peers } = await fakeServer(basicScript());
    const { io, err } = pipedIo('hello\n');
    expect(await runClient(options(port, { password: { kind: 'env', value: 'wrong' } }), io, '1', fastTiming)).toBe(1);
    expect(err()).toContain('! Login failed: invalid username or password. 2 attempt(s) left.');
    expect(peers[0]!.received.map((m) => m.type)).toEqual(['hello', 'login', 'quit']);
  });

  it('exits 1 and says why when the server ends the session', async () => {
    const { port } = await fakeServer(
      basicScript((m, peer) => {
        if (m.type === 'say') {
          peer.send({ type: 'bye', reason: 'kicked', message: 'go away' });
          peer.socket.end();
        }
      }),
    );
    const { io, err } = pipedIo('a\nb\n');
    expect(await runClient(options(port), io, '1', fastTiming)).toBe(1);
    expect(err()).toContain('! You were kicked by an administrator: go away. Goodbye.');
  });

  it('exits 2 with one line when nothing listens', async () => {
    const { io, err } = pipedIo('');
    expect(await runClient(options(await closedPort()), io, '1', fastTiming)).toBe(2);
    expect(err()).toMatch(/^chat-client: cannot connect to 127\.0\.0\.1:\d+: connection refused.*\n$/);
  });
});
