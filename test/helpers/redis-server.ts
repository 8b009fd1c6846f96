/**
 * A redis-server of a test's own, on a free loopback port, without
 * persistence, for tests that stop and restart it. Killed when the test
 * process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closedPort, OutputCollector, waitForExit } from './chat-server-process.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class RedisServerProcess {
  #child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  static async start(): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(await closedPort());
    await server.restart();
    return server;
  }

  /** Starts it (again) on its port; resolves once it accepts connections. */
  async restart(timeoutMs = 10_000): Promise<void> {
    if (this.#child !== undefined) throw new Error('redis-server is already running');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const output = new OutputCollector(child.stdout!);
    try {
      await Promise.race([
        output.waitFor('Ready to accept connections', timeoutMs),
        new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output.text}`)))),
      ]);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    this.#child = child;
  }

  /** Stops it: SIGKILL is a crash (what it held is gone, as it has no persistence), SIGTERM a clean stop. */
  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    child.kill(signal);
    await waitForExit(child, 10_000);
  }
}
