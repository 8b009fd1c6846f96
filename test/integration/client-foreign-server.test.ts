import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

let server: net.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  server = undefined;
});

/** A TCP server that is not a chat-server: it greets with `banner`, and closes on our first line unless `keepOpen`. */
async function foreignServer(banner: string, keepOpen: boolean): Promise<number> {
  server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write(banner);
    socket.on('data', () => {
      if (!keepOpen) socket.end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('chat-client against something that is not a chat-server', () => {
  it('says so, with what it sent, when the peer closes', async () => {
    const port = await foreignServer('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n', false);
    const result = await runCli('chat-client', [`127.0.0.1:${port}`, '--user', 'shon'], { env: { CHAT_PASSWORD: 'x' }, stdin: 'hi\n' });
    expect(result.stderr).toBe(`chat-client: the server at 127.0.0.1:${port} does not speak the chat protocol: it sent \`SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\`\n`);
    expect(result.exitCode).toBe(2);
  });

  it('says so rather than "no reply" when the peer answered but never with a hello', async () => {
    const port = await foreignServer(`HTTP/1.1 400 Bad Request\x1b[31m ${'x'.repeat(100)}\r\n\r\n`, true);
    const result = await runCli('chat-client', [`127.0.0.1:${port}`, '--user', 'shon', '--connect-timeout', '1s'], { env: { CHAT_PASSWORD: 'x' }, stdin: 'hi\n' });
    expect(result.stderr).toMatch(new RegExp(`^chat-client: the server at 127\\.0\\.0\\.1:${port} does not speak the chat protocol: it sent \`HTTP/1\\.1 400 Bad Request x+\\.\\.\\.\`\\n$`));
    expect(result.stderr).not.toContain('\x1b');
    expect(result.stderr).not.toContain('no reply');
    expect(result.exitCode).toBe(2);
  });
});
