/**
 * A real HAProxy (Debian's package) in front of chat-server instances, for
 * the cluster tests: TCP mode, round robin, `send-proxy-v2` to every backend,
 * health checks that send a PROXY header too. Runs in the foreground as a
 * child process with a configuration in a temp folder; `stop()` kills it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptsConnections, haproxyConfig } from '../../bench/haproxy.js';
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
    if (await acceptsConnections(port)) return { port, child, output, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not listen on ${port} within ${timeoutMs} ms: ${output.text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

