/**
 * A raw JSON-mode client over TLS (node:tls, no chat-client code), for server
 * tests: accepts any certificate and reports its fingerprint for the test to check.
 */
import net from 'node:net';
import tls from 'node:tls';

export type JsonMessage = Record<string, unknown> & { type: string };

export class TlsJsonClient {
  readonly messages: JsonMessage[] = [];
  #buffer = '';
  #waiters = new Set<() => void>();
  #closed = false;

  private constructor(readonly socket: tls.TLSSocket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let newline: number;
      while ((newline = this.#buffer.indexOf('\n')) !== -1) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        if (line.startsWith('{')) this.messages.push(JSON.parse(line) as JsonMessage);
      }
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  get fingerprint(): string {
    return this.socket.getPeerCertificate().fingerprint256;
  }

  /** TLS to `port`, or over an already connected `socket` (after a PROXY header, say). */
  static connect(port: number, options: { socket?: net.Socket; timeoutMs?: number } = {}): Promise<TlsJsonClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(options.socket === undefined ? {} : { socket: options.socket }) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('TLS connect timed out'));
      }, options.timeoutMs ?? 5000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(new TlsJsonClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  send(message: Record<string, unknown>): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  async login(username: string, password: string): Promise<JsonMessage> {
    this.send({ type: 'hello', proto: 1, client: 'tls-test' });
    this.send({ type: 'login', username, password });
    return this.waitFor((m) => m.type === 'login_ok' || m.type === 'login_failed');
  }

  waitFor(accept: (message: JsonMessage) => boolean, timeoutMs = 5000): Promise<JsonMessage> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.messages.find(accept);
        if (found === undefined && !this.#closed) return false;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        if (found !== undefined) resolve(found);
        else reject(new Error(`connection closed; got ${JSON.stringify(this.messages)}`));
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`timed out after ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(wake);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
