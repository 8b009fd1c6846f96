/**
 * A raw TCP client for server integration tests: writes exact bytes, keeps
 * everything the server sent as text, and waits (always with a timeout) for
 * text or JSON messages to appear. Speaks neither mode by itself.
 */
import net from 'node:net';
import tls from 'node:tls';

export type JsonMessage = Record<string, unknown> & { type: string };

export class WireClient {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #raw: Buffer | undefined = Buffer.alloc(0);
  /** Bytes after the last newline, not yet parsed as a line. */
  #partial = '';
  readonly #messages: JsonMessage[] = [];
  #answerPings = false;
  #waiters = new Set<() => void>();
  #closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (latin1: string) => {
      const chunk = Buffer.from(latin1, 'latin1');
      this.#chunks.push(chunk);
      this.#raw = undefined;
      this.#parseLines(chunk);
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  /** `localAddress` binds the client end (any 127.x.y.z works on loopback), to test per-address and per-network limits. */
  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000, localAddress?: string): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new WireClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** TLS to `port` (any certificate: tests check the fingerprint), or over an already connected `socket` (after a PROXY header, say). */
  static connectTls(port: number, options: { socket?: net.Socket; timeoutMs?: number } = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(options.socket === undefined ? {} : { socket: options.socket }) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('TLS connect timed out'));
      }, options.timeoutMs ?? 5000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(new WireClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** The server certificate's SHA-256 fingerprint, on a TLS connection. */
  get fingerprint(): string {
    if (!(this.socket instanceof tls.TLSSocket)) throw new Error('not a TLS connection');
    return this.socket.getPeerCertificate().fingerprint256;
  }

  /** JSON mode on this connection: hello and login; resolves with login_ok or login_failed. */
  login(username: string, password: string): Promise<JsonMessage> {
    this.sendJson({ type: 'hello', proto: 1, client: 'test' });
    this.sendJson({ type: 'login', username, password });
    return this.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed');
  }

  /** Everything received, decoded as UTF-8. */
  get text(): string {
    return this.bytes.toString('utf8');
  }

  get bytes(): Buffer {
    this.#raw ??= Buffer.concat(this.#chunks);
    return this.#raw;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Every complete line that is a JSON object. */
  get messages(): readonly JsonMessage[] {
    return this.#messages;
  }

  /** From now on, answer every `ping` with a `pong`, as a live JSON client does. */
  answerPings(): void {
    this.#answerPings = true;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  sendJson(message: Record<string, unknown>): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** Waits until the received text matches; resolves with the match. */
  waitForText(pattern: RegExp | string, timeoutMs = 5000): Promise<RegExpMatchArray> {
    return this.#waitUntil(() => {
      if (typeof pattern === 'string') return this.text.includes(pattern) ? [pattern] : undefined;
      return this.text.match(pattern) ?? undefined;
    }, `text ${String(pattern)}`, timeoutMs);
  }

  /** Waits for the `nth` (0-based) JSON message that `accept` takes. */
  waitForJson(accept: (message: JsonMessage) => boolean, timeoutMs = 5000, nth = 0): Promise<JsonMessage> {
    return this.#waitUntil(() => this.messages.filter(accept)[nth], 'a matching JSON message', timeoutMs);
  }

  waitForType(type: string, timeoutMs = 5000): Promise<JsonMessage> {
    return this.waitForJson((m) => m.type === type, timeoutMs);
  }

  /** Waits until the server closed the connection. */
  waitForClose(timeoutMs = 5000): Promise<true> {
    return this.#waitUntil(() => (this.#closed ? true : undefined), 'the connection to close', timeoutMs, false);
  }

  /** JSON mode: hello and login; resolves with login_ok (throws on anything else). */
  static async loginJson(port: number, username: string, password: string): Promise<WireClient> {
    const client = await WireClient.connect(port);
    client.sendJson({ type: 'hello', proto: 1, client: 'test' });
    client.sendJson({ type: 'login', username, password });
    const reply = await client.waitForJson((m) => m.type === 'login_ok' || m.type === 'login_failed');
    if (reply.type !== 'login_ok') throw new Error(`login as ${username} failed: ${JSON.stringify(reply)}`);
    return client;
  }

  /** Text mode: answers the prompts; resolves once the welcome block arrived. */
  static async loginText(port: number, username: string, password: string): Promise<WireClient> {
    const client = await WireClient.connect(port);
    client.write(`${username}\n${password}\n`);
    await client.waitForText(/\* Commands: .*c\.exit.*\n/);
    return client;
  }

  close(): void {
    this.socket.destroy();
  }

  #waitUntil<T>(probe: () => T | undefined, what: string, timeoutMs: number, failOnClose = true): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (value !== undefined) {
          done();
          resolve(value);
          return true;
        }
        if (failOnClose && this.#closed) {
          done();
          reject(new Error(`connection closed while waiting for ${what}; received:\n${this.text.slice(-2000)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received:\n${this.text.slice(-2000)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      const wake = () => void check();
      if (!check()) this.#waiters.add(wake);
    });
  }

  #parseLines(chunk: Buffer): void {
    const lines = (this.#partial + chunk.toString('latin1')).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const message = JSON.parse(Buffer.from(line, 'latin1').toString('utf8')) as JsonMessage;
      this.#messages.push(message);
      if (this.#answerPings && message.type === 'ping') this.sendJson({ type: 'pong' });
    }
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
