import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_ENV } from '../helpers/chat-server-process.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

let dir: TempDir | undefined;
let holder: net.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (holder === undefined ? resolve(undefined) : holder.close(resolve)));
  holder = undefined;
  await dir?.remove();
});

describe('chat-server on a port it cannot have', () => {
  it('names the process holding the port and suggests another --port', async () => {
    dir = await makeTempDir();
    holder = net.createServer();
    await new Promise<void>((resolve) => holder!.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const result = await runCli('chat-server', ['--host', '127.0.0.1', '--port', String(port), '--db', dir.file('chat.db')], { env: TEST_ENV });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^chat-server: [^\n]+\n$/);
    expect(result.stderr).toContain(`port ${port} is already in use on 127.0.0.1`);
    // This test process holds it; /proc tells its pid to the same user.
    if (process.platform === 'linux') expect(result.stderr).toContain(`(pid ${process.pid})`);
    expect(result.stderr).toContain(`--port ${port + 1}`);
  });
});
