/**
 * A real HAProxy (Debian's package) in front of chat-server instances, for
 * the cluster tests: TCP mode, round robin, `send-proxy-v2` to every backend,
 * health checks that send a PROXY header too. Runs in the foreground as a
 * child process with a configuration in a temp folder; `stop()` kills it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort, OutputCollector, waitForExit } from './chat-server-process.js';
import { serviceAvailable } from './services.js';

export function haproxyAvailable(): Promise<boolean> {
  return serviceAvailable('haproxy', 'install it (apt-get install -y haproxy)', async () => {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore', timeout: 5000 });
  });
}

export interface HaproxyProcess {
  readonly port: number;
  readonly child: ChildProcess;
  readonly output: OutputCollector;
  stop(): Promise<void>;
}

/** The configuration `docs/cluster.md` shows, with the test's ports. */
export function haproxyConfig(listenPort: number, backends: readonly number[]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  option redispatch',
    '  retries 3',
    'frontend chat',
    `  bind 127.0.0.1:${listenPort}`,
    '  default_backend chat_instances',
    'backend chat_instances',
    '  balance roundrobin',
    ...backends.map((port, i) => `  server chat${i + 1} 127.0.0.1:${port} send-proxy-v2 check check-send-proxy inter 500ms fall 2 rise 2`),
    '',
  ].join('\n');
}

/** Starts HAProxy on a free loopback port in front of `backends`; resolves once it accepts connections. */
export async function startHaproxy(backends: readonly number[], timeoutMs = 10_000): Promise<HaproxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-haproxy-'));
  const port = await closedPort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, backends));
  // -db: stay in the foreground, log to stderr; -W off: no master process to outlive the test.
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new OutputCollector(child.stderr!);
  new OutputCollector(child.stdout!);
  process.once('exit', () => child.kill('SIGKILL'));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await waitForExit(child, 5000).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`haproxy exited with ${child.exitCode}: ${output.text}`);
    }
    if (await accepts(port)) return { port, child, output, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not listen on ${port} within ${timeoutMs} ms: ${output.text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
