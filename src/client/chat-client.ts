import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { encodeClientMessage, parseServerMessage } from '../protocol/json-codec.js';
import { DEFAULT_MAX_LINE_BYTES, PROTOCOL_VERSION } from '../protocol/limits.js';
import { LineSplitter } from '../protocol/line-splitter.js';
import type { Bye, ClientMessage, HelloReply, LoginFailed, LoginOk, ServerMessage } from '../protocol/messages.js';
import { sanitizeText } from '../protocol/sanitize.js';
import { formatAddress, type ChatAddress } from './address.js';

/**
 * `connecting → handshaking → ready → authenticating → chatting → closing → closed`;
 * a failed login goes back to `ready`, and any state may jump to `closing` or `closed`.
 */
export type ClientStatus = 'connecting' | 'handshaking' | 'ready' | 'authenticating' | 'chatting' | 'closing' | 'closed';

const ALLOWED: Record<ClientStatus, readonly ClientStatus[]> = {
  connecting: ['handshaking', 'closing', 'closed'],
  handshaking: ['ready', 'closing', 'closed'],
  ready: ['authenticating', 'closing', 'closed'],
  authenticating: ['ready', 'chatting', 'closing', 'closed'],
  chatting: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

export type ConnectErrorCode = 'refused' | 'timeout' | 'not_found' | 'unreachable' | 'no_hello' | 'not_chat' | 'tls' | 'untrusted' | 'failed';

/** Bytes kept of what a peer sends before its hello reply: enough to name an SSH or HTTP server. */
const MAX_HEARD_BYTES = 256;
/** Characters of that shown in the error. */
const MAX_SHOWN_CHARS = 60;

/**
 * What a peer that is not a chat-server sent, for one error line: its first
 * line, sanitised, cut to 60 characters, in backquotes (`SSH-2.0-OpenSSH_9.6`);
 * or how many bytes of binary data.
 */
export function describeForeignReply(bytes: Buffer): string {
  const firstLine = bytes.toString('utf8').split(/\r?\n/)[0]!;
  const text = sanitizeText(firstLine).replace(/\uFFFD/g, '').trim();
  const printable = text.length > 0 && text.length >= firstLine.length / 2;
  if (!printable) return `${bytes.length} bytes of binary data`;
  const chars = Array.from(text);
  const shown = chars.length > MAX_SHOWN_CHARS ? `${chars.slice(0, MAX_SHOWN_CHARS).join('')}...` : text;
  return `\`${shown.replace(/`/g, "'")}\``;
}

/** No chat session could be started at that address. */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  constructor(
    readonly code: ConnectErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The session ended while something was still waited for. */
export class SessionEndedError extends Error {
  override readonly name = 'SessionEndedError';
  readonly code = 'ERR_CHAT_SESSION_ENDED';
  constructor(readonly end: SessionEnd) {
    super(end.bye === undefined ? 'connection lost' : `session ended: ${String(end.bye.reason)}`);
  }
}

/** How the connection ended: the server's `bye` if one came, else the socket error if any. */
export interface SessionEnd {
  readonly bye: Bye | undefined;
  readonly error: Error | undefined;
}

export interface ChatClientEvents {
  status: [status: ClientStatus];
  /** Every JSON message from the server after its hello reply (pings are answered already). */
  message: [message: ServerMessage];
  /** Exactly once, when the socket is closed. */
  end: [end: SessionEnd];
}

export interface ConnectOptions {
  /** For DNS, TCP and the hello reply together. */
  readonly timeoutMs: number;
  /** Sent in `hello.client`, such as `chat-client/0.1.0`. */
  readonly clientName: string;
  /** Connect with TLS (1.2 or later). */
  readonly tls?: TlsConnectOptions;
}

/** What the TLS handshake showed about the server's certificate. */
export interface ServerCertificateFacts {
  /** The chain and the host name verified against the trusted CAs. */
  readonly authorized: boolean;
  /** OpenSSL's code when not authorized, such as `DEPTH_ZERO_SELF_SIGNED_CERT`. */
  readonly authorizationError: string | undefined;
  /** SHA-256 of the certificate, `AB:CD:...`. */
  readonly fingerprint: string;
}

export interface TlsConnectOptions {
  /** Extra CA certificates (PEM), trusted besides Node's default CA store. */
  readonly ca?: string;
  /**
   * Decides, after the handshake and before anything is sent, whether to go
   * on: undefined to go on, or the error to stop with. It may ask the user:
   * the connect timeout does not run meanwhile.
   */
  verify(facts: ServerCertificateFacts): Promise<ConnectError | undefined>;
}

/** How long to wait for the server to close after its `bye`. */
const CLOSE_AFTER_BYE_MS = 2000;
/** Server lines may be long (a `who` list); ours are checked against the server's `max_line`. */
const MAX_SERVER_LINE_BYTES = 1 << 20;

const NOT_FOUND = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'ENETDOWN', 'EHOSTDOWN']);

function errorCode(error: unknown): string | undefined {
  const withCode = error as { code?: unknown; errors?: unknown[] };
  if (typeof withCode.code === 'string') return withCode.code;
  // autoSelectFamily reports an AggregateError with one error per address tried.
  const first = Array.isArray(withCode.errors) ? (withCode.errors[0] as { code?: unknown } | undefined) : undefined;
  return typeof first?.code === 'string' ? first.code : undefined;
}

/** Maps a socket error to a ConnectError with one readable sentence. */
export function describeConnectError(error: unknown, address: ChatAddress): ConnectError {
  const where = formatAddress(address);
  const code = errorCode(error);
  if (code === 'ECONNREFUSED') return new ConnectError('refused', `cannot connect to ${where}: connection refused (is chat-server running there?)`);
  if (code !== undefined && NOT_FOUND.has(code)) return new ConnectError('not_found', `cannot connect to ${where}: host name ${JSON.stringify(address.host)} not found`);
  if (code !== undefined && UNREACHABLE.has(code)) return new ConnectError('unreachable', `cannot connect to ${where}: host unreachable (${code})`);
  if (code !== undefined && (code === 'EPROTO' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) {
    return new ConnectError('tls', `cannot connect to ${where}: TLS handshake failed (is chat-server there started with a certificate?): ${error instanceof Error ? error.message : code}`);
  }
  const detail = error instanceof Error && error.message !== '' ? error.message : String(error);
  return new ConnectError('failed', `cannot connect to ${where}: ${detail}`);
}

interface Waiter {
  accept(message: ServerMessage): boolean;
  resolve(message: ServerMessage): void;
  reject(error: Error): void;
}

/**
 * One JSON-mode connection to chat-server: socket, line splitter and codec,
 * with a status and no terminal code. Pings are answered here.
 */
/** Messages kept for a listener that is not attached yet; past this they are dropped. */
const MAX_UNHEARD = 10_000;

export class ChatClient extends EventEmitter<ChatClientEvents> {
  readonly #socket: net.Socket;
  readonly #splitter = new LineSplitter(MAX_SERVER_LINE_BYTES);
  #status: ClientStatus = 'connecting';
  #hello: HelloReply | undefined;
  #bye: Bye | undefined;
  #error: Error | undefined;
  #end: SessionEnd | undefined;
  #waiters: Waiter[] = [];
  #byeTimer: NodeJS.Timeout | undefined;
  /** A plain `! ...` line the server sent before its hello (such as "this server requires TLS"). */
  #notice: string | undefined;
  /** The first bytes the peer sent before any hello reply, to name a peer that is not a chat-server. */
  #heard: Buffer = Buffer.alloc(0);
  /**
   * Messages that arrived while nobody listened for 'message': login_ok and the
   * first chat lines often come in one read, before the code awaiting the login
   * has attached its listener. They are handed to the first listener, in order.
   */
  #unheard: ServerMessage[] = [];

  private constructor(socket: net.Socket) {
    super();
    this.#socket = socket;
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event !== 'message' || this.#unheard.length === 0) return;
      // newListener fires before the listener is added: hand over once it is.
      queueMicrotask(() => {
        const unheard = this.#unheard;
        this.#unheard = [];
        for (const message of unheard) this.emit('message', message);
      });
    });
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  /** Connects, sends `hello` and waits for the server's hello reply, all within `timeoutMs`. */
  static connect(address: ChatAddress, options: ConnectOptions): Promise<ChatClient> {
    return new Promise((resolve, reject) => {
      const tlsOptions = options.tls;
      const socket =
        tlsOptions === undefined
          ? net.connect({ host: address.host, port: address.port })
          : tls.connect({
              host: address.host,
              port: address.port,
              ...(net.isIP(address.host) === 0 ? { servername: address.host } : {}),
              ...(tlsOptions.ca === undefined ? {} : { ca: [...tls.rootCertificates, tlsOptions.ca] }),
              minVersion: 'TLSv1.2',
              // Checked below, by the CAs or a pinned fingerprint, before anything is sent.
              rejectUnauthorized: false,
            });
      const client = new ChatClient(socket);
      let settled = false;
      const fail = (error: ConnectError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const foreign = (): ConnectError | undefined =>
        client.#heard.length === 0 || client.#notice !== undefined
          ? undefined
          : new ConnectError('not_chat', `the server at ${formatAddress(address)} does not speak the chat protocol: it sent ${describeForeignReply(client.#heard)}`);
      const onTimeout = (): void => {
        const what = client.#status === 'connecting' ? 'timed out' : 'no reply from the server (is it a chat-server?)';
        fail(foreign() ?? new ConnectError('timeout', `cannot connect to ${formatAddress(address)}: ${what} after ${options.timeoutMs / 1000} s`));
      };
      let timer = setTimeout(onTimeout, options.timeoutMs);
      socket.once('error', (error) => fail(describeConnectError(error, address)));
      socket.once(tlsOptions === undefined ? 'connect' : 'secureConnect', async () => {
        if (tlsOptions !== undefined) {
          const secure = socket as tls.TLSSocket;
          clearTimeout(timer);
          const error = secure.authorizationError as unknown as Error | string | null | undefined;
          let verdict: ConnectError | undefined;
          try {
            verdict = await tlsOptions.verify({
              authorized: secure.authorized,
              authorizationError: error === null || error === undefined ? undefined : typeof error === 'string' ? error : ((error as NodeJS.ErrnoException).code ?? error.message),
              fingerprint: secure.getPeerCertificate().fingerprint256,
            });
          } catch (failure) {
            verdict = new ConnectError('failed', `cannot connect to ${formatAddress(address)}: ${failure instanceof Error ? failure.message : String(failure)}`);
          }
          if (settled) return;
          if (verdict !== undefined) {
            fail(verdict);
            return;
          }
          timer = setTimeout(onTimeout, options.timeoutMs);
        }
        socket.setKeepAlive(true, 30_000);
        socket.setNoDelay(true);
        client.#setStatus('handshaking');
        client.send({ type: 'hello', proto: PROTOCOL_VERSION, client: options.clientName });
        client.next((m) => m.type === 'hello').then(
          () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve(client);
          },
          () => {
            const said = client.#notice === undefined ? '' : `; it said: ${sanitizeText(client.#notice.replace(/^!\s*/, ''))}`;
            const other = foreign();
            if (other !== undefined) fail(other);
            else fail(new ConnectError('no_hello', `cannot connect to ${formatAddress(address)}: the server closed the connection during the handshake${said}`));
          },
        );
      });
    });
  }

  get status(): ClientStatus {
    return this.#status;
  }

  /** The server's hello reply (set once connected). */
  get serverHello(): HelloReply | undefined {
    return this.#hello;
  }

  /** The server's line limit for what we send. */
  get maxLineBytes(): number {
    const max = this.#hello?.max_line;
    return typeof max === 'number' && max > 0 ? max : DEFAULT_MAX_LINE_BYTES;
  }

  /** Set after the connection closed. */
  get sessionEnd(): SessionEnd | undefined {
    return this.#end;
  }

  /** True when `message` fits the server's line limit. */
  fits(message: ClientMessage): boolean {
    return Buffer.byteLength(encodeClientMessage(message)) - 1 <= this.maxLineBytes;
  }

  /** Writes one message; false when it is too long for the server or the connection is gone. */
  send(message: ClientMessage): boolean {
    if (this.#socket.destroyed || !this.#socket.writable || !this.fits(message)) return false;
    this.#socket.write(encodeClientMessage(message));
    return true;
  }

  /**
   * Resolves with the next message `accept` takes; rejects with SessionEndedError
   * if the connection ends first, or an Error after `timeoutMs` if given.
   */
  next<T extends ServerMessage = ServerMessage>(accept: (message: ServerMessage) => boolean, timeoutMs?: number): Promise<T> {
    if (this.#end !== undefined) return Promise.reject(new SessionEndedError(this.#end));
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        accept,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`no reply from the server within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  /** One login attempt; resolves with `login_ok` or `login_failed`. */
  login(username: string, password: string, timeoutMs?: number): Promise<LoginOk | LoginFailed> {
    return this.#authenticate({ type: 'login', username, password }, timeoutMs);
  }

  /** A `resume` with the token of an earlier `login_ok` instead of a login; resolves with `login_ok` or `login_failed` (`resume_invalid`: log in with the password). */
  resume(token: string, timeoutMs?: number): Promise<LoginOk | LoginFailed> {
    return this.#authenticate({ type: 'resume', token }, timeoutMs);
  }

  async #authenticate(request: ClientMessage, timeoutMs: number | undefined): Promise<LoginOk | LoginFailed> {
    this.#setStatus('authenticating');
    const reply = this.next<LoginOk | LoginFailed>((m) => m.type === 'login_ok' || m.type === 'login_failed', timeoutMs);
    this.send(request);
    const result = await reply;
    if (this.#status === 'authenticating') this.#setStatus(result.type === 'login_ok' ? 'chatting' : 'ready');
    return result;
  }

  /** Sends `quit` and resolves once the connection is closed, or after `timeoutMs` by closing it ourselves. */
  quit(timeoutMs: number): Promise<SessionEnd> {
    if (this.#end !== undefined) return Promise.resolve(this.#end);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#socket.destroy(), timeoutMs);
      this.once('end', (end) => {
        clearTimeout(timer);
        resolve(end);
      });
      if (this.#status !== 'closing') {
        this.send({ type: 'quit' });
        this.#setStatus('closing');
      }
    });
  }

  /** Closes at once, without `quit`. */
  destroy(): void {
    this.#socket.destroy();
  }

  #setStatus(status: ClientStatus): void {
    if (status === this.#status) return;
    if (!ALLOWED[this.#status].includes(status)) return;
    this.#status = status;
    this.emit('status', status);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#hello === undefined && this.#heard.length < MAX_HEARD_BYTES) {
      this.#heard = Buffer.concat([this.#heard, chunk.subarray(0, MAX_HEARD_BYTES - this.#heard.length)]);
    }
    for (const event of this.#splitter.push(chunk)) {
      if (event.kind !== 'line') continue;
      const message = parseServerMessage(event.line);
      if (message === undefined) {
        if (this.#hello === undefined && event.line.startsWith('! ')) this.#notice = event.line.slice(0, 200);
        continue;
      }
      if (this.#status === 'connecting' || this.#status === 'handshaking') {
        // Before the hello reply only the hello reply counts (PROTOCOL.md).
        if (message.type !== 'hello') continue;
        this.#hello = message;
        this.#setStatus('ready');
      } else if (message.type === 'ping') {
        this.send({ type: 'pong' });
      } else if (message.type === 'bye') {
        this.#bye = message;
        this.#setStatus('closing');
        this.#socket.end();
        this.#byeTimer = setTimeout(() => this.#socket.destroy(), CLOSE_AFTER_BYE_MS);
      }
      this.#deliver(message);
    }
  };

  #deliver(message: ServerMessage): void {
    const waiter = this.#waiters.find((w) => w.accept(message));
    if (waiter !== undefined) {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.resolve(message);
    }
    if (this.listenerCount('message') > 0) this.emit('message', message);
    else if (waiter === undefined && this.#unheard.length < MAX_UNHEARD) this.#unheard.push(message);
  }

  readonly #onError = (error: Error): void => {
    this.#error ??= error;
  };

  readonly #onClose = (): void => {
    clearTimeout(this.#byeTimer);
    this.#setStatus('closed');
    const end: SessionEnd = { bye: this.#bye, error: this.#error };
    this.#end = end;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(new SessionEndedError(end));
    this.emit('end', end);
  };
}
