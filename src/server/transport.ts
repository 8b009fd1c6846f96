import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { CidrList } from './cidr.js';
import { ProxyHeaderParser, type ProxyErrorCode } from './proxy-protocol.js';

export type TransportKind = 'tls' | 'plain';

/** A connection ready for the chat protocol: the stream to speak on and who is really at the other end. */
export interface OpenedTransport {
  /** The byte stream the protocol runs on: the TCP socket itself, or TLS over it. */
  readonly stream: Duplex;
  /** The TCP socket underneath (keepalive, no-delay, idle timeout). */
  readonly socket: Socket;
  /** The client's address: from the PROXY header when there is one, else the socket's. */
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly transport: TransportKind;
  /** How long the client already stayed silent while its first byte was awaited; the greeting waits only the rest of its delay. */
  readonly silentMs: number;
}

/** Why a connection never reached the chat protocol. `admission`: the server's own check said no (it has answered and logged). */
export type TransportRefusal =
  | 'untrusted_proxy'
  | 'bad_proxy_header'
  | 'proxy_header_timeout'
  | 'admission'
  | 'tls_required'
  | 'tls_handshake_failed'
  | 'tls_handshake_timeout'
  | 'closed';

export type TransportOutcome =
  | ({ readonly ok: true } & OpenedTransport)
  | { readonly ok: false; readonly reason: TransportRefusal; readonly peerAddress: string; readonly peerPort: number; readonly detail?: string };

export interface TransportOptions {
  /** Set when the server has a certificate: a first byte 0x16 starts a TLS handshake. */
  readonly secureContext: SecureContext | undefined;
  readonly requireTls: boolean;
  readonly proxyProtocol: boolean;
  readonly trustedProxies: CidrList;
  /** How long to wait for a first byte before deciding on plain text (the text greeting's delay). */
  readonly sniffMs: number;
  readonly proxyHeaderTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
}

/** Decides whether a client at this (real) address may go on; returns the line to refuse it with, or undefined. */
export type AdmitPeer = (peerAddress: string, peerPort: number) => string | undefined;

export const PROXY_HEADER_TIMEOUT_MS = 3000;
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Under --require-tls: how long to wait for a first byte before telling a plain client it needs TLS. */
const REQUIRE_TLS_SNIFF_MS = 3000;
/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;
/** After `end()` with a refusal line, how long before the socket is destroyed. */
const REFUSAL_LINGER_MS = 1000;

export const TRANSPORT_REFUSAL_LINES: Readonly<Partial<Record<TransportRefusal, string>>> = {
  untrusted_proxy: '! Connections are accepted only through this server\'s proxy.\n',
  bad_proxy_header: '! Bad PROXY protocol header. Goodbye.\n',
  proxy_header_timeout: '! No PROXY protocol header. Goodbye.\n',
  tls_required: '! This server requires TLS: connect with chat-client --tls.\n',
};

const PROXY_REASON: Record<ProxyErrorCode, string> = {
  ERR_PROXY_NOT_A_HEADER: 'not a PROXY header',
  ERR_PROXY_TOO_LONG: 'header too long',
  ERR_PROXY_BAD_V1: 'malformed v1 header',
  ERR_PROXY_BAD_ADDRESS: 'bad address or port',
  ERR_PROXY_BAD_V2: 'bad v2 version or command',
  ERR_PROXY_UNSUPPORTED: 'not a TCP client',
  ERR_PROXY_BAD_LENGTH: 'v2 length too short',
};

/** Reads the first bytes of a socket before anyone else does, and puts back what it did not use. */
class EarlyReader {
  #pending: Buffer[] = [];
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', this.#onData);
    socket.on('end', this.#onGone);
    socket.on('close', this.#onGone);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The bytes not used yet, once there is at least one; 'timeout' or 'closed' otherwise. */
  async peek(timeoutMs: number): Promise<Buffer | 'timeout' | 'closed'> {
    if (this.#pending.length === 0 && !this.#closed && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    if (this.#pending.length > 0) return this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    return this.#closed ? 'closed' : 'timeout';
  }

  /** Like peek, but the bytes returned count as used. */
  async take(timeoutMs: number): Promise<Buffer | 'timeout' | 'closed'> {
    const bytes = await this.peek(timeoutMs);
    if (typeof bytes !== 'string') this.#pending = [];
    return bytes;
  }

  /** Bytes to hand on after all (what followed a PROXY header). */
  putBack(bytes: Buffer): void {
    if (bytes.length > 0) this.#pending.unshift(bytes);
  }

  /** Stops reading and puts every unused byte back into the socket, which is left paused. */
  release(): void {
    this.socket.off('data', this.#onData);
    this.socket.off('end', this.#onGone);
    this.socket.off('close', this.#onGone);
    this.socket.pause();
    if (this.#pending.length > 0 && !this.socket.destroyed) this.socket.unshift(Buffer.concat(this.#pending));
    this.#pending = [];
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#pending.push(chunk);
    this.#wake?.();
  };

  readonly #onGone = (): void => {
    this.#closed = true;
    this.#wake?.();
  };
}

function ignoreSocketError(): void {}

/** The stream's owner has its own error listener now: the one added during negotiation goes (an idle connection keeps one listener, not an array of two). */
export function dropNegotiationListener(socket: Socket): void {
  socket.off('error', ignoreSocketError);
}

function refuseWith(socket: Socket, line: string | undefined): void {
  if (socket.destroyed) return;
  if (line === undefined) {
    socket.destroy();
    return;
  }
  socket.end(line);
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}

function handshake(socket: Socket, secureContext: SecureContext, timeoutMs: number): Promise<{ tls: TLSSocket } | { reason: 'tls_handshake_failed' | 'tls_handshake_timeout' | 'closed'; detail?: string }> {
  const tls = new TLSSocket(socket, { isServer: true, secureContext, requestCert: false, rejectUnauthorized: false });
  return new Promise((resolve) => {
    const done = (outcome: { tls: TLSSocket } | { reason: 'tls_handshake_failed' | 'tls_handshake_timeout' | 'closed'; detail?: string }): void => {
      clearTimeout(timer);
      tls.off('secure', onSecure);
      tls.off('error', onError);
      tls.off('close', onClose);
      if ('reason' in outcome) {
        tls.on('error', () => undefined);
        tls.destroy();
        socket.destroy();
      }
      resolve(outcome);
    };
    const onSecure = (): void => done({ tls });
    const onError = (error: NodeJS.ErrnoException): void => done({ reason: 'tls_handshake_failed', detail: error.code ?? error.message });
    const onClose = (): void => done({ reason: 'closed' });
    const timer = setTimeout(() => done({ reason: 'tls_handshake_timeout' }), timeoutMs);
    tls.once('secure', onSecure);
    tls.once('error', onError);
    tls.once('close', onClose);
  });
}

/**
 * Takes a freshly accepted socket to the point where the chat protocol can
 * start: reads the PROXY header if configured (only from trusted proxies) and
 * learns the client's real address, asks `admit` about that address, then
 * tells TLS from plain text by the first byte (TLS records start with 0x16; a
 * person with nc sends nothing until greeted, so silence means plain text)
 * and runs the TLS handshake. Refused connections are answered with one plain
 * line where that helps and closed; the outcome says why.
 */
export async function openTransport(socket: Socket, options: TransportOptions, admit: AdmitPeer): Promise<TransportOutcome> {
  let peerAddress = socket.remoteAddress ?? 'unknown';
  let peerPort = socket.remotePort ?? 0;
  const refuse = (reason: TransportRefusal, detail?: string, line: string | undefined = TRANSPORT_REFUSAL_LINES[reason]): TransportOutcome => {
    refuseWith(socket, line);
    return { ok: false, reason, peerAddress, peerPort, ...(detail === undefined ? {} : { detail }) };
  };
  const plain = (silentMs: number): TransportOutcome => ({ ok: true, stream: socket, socket, peerAddress, peerPort, transport: 'plain', silentMs });
  // Resets during negotiation are outcomes, not crashes; and with TLS the raw socket has no other listener.
  socket.on('error', ignoreSocketError);
  const reader = options.proxyProtocol || options.secureContext !== undefined ? new EarlyReader(socket) : undefined;
  if (reader === undefined) return admitOr(plain(0));

  if (options.proxyProtocol) {
    if (!options.trustedProxies.contains(peerAddress)) {
      reader.release();
      return refuse('untrusted_proxy');
    }
    const parser = new ProxyHeaderParser();
    const deadline = Date.now() + options.proxyHeaderTimeoutMs;
    for (;;) {
      const bytes = await reader.take(Math.max(0, deadline - Date.now()));
      if (bytes === 'closed') return refuse('closed');
      if (bytes === 'timeout') {
        reader.release();
        return refuse('proxy_header_timeout');
      }
      const result = parser.push(bytes);
      if (result.state === 'need-more') continue;
      if (result.state === 'error') {
        reader.release();
        return refuse('bad_proxy_header', `${result.code} (${PROXY_REASON[result.code]})`);
      }
      if (result.header.command === 'proxy') {
        peerAddress = result.header.sourceAddress;
        peerPort = result.header.sourcePort;
      }
      reader.putBack(result.rest);
      break;
    }
  }

  const refusal = admit(peerAddress, peerPort);
  if (refusal !== undefined) {
    reader.release();
    return refuse('admission', undefined, refusal);
  }

  if (options.secureContext === undefined) {
    reader.release();
    return plain(0);
  }
  const started = Date.now();
  // With TLS required nobody is greeted in plain text, so a slow ClientHello can be waited for longer.
  const first = await reader.peek(options.requireTls ? Math.max(options.sniffMs, REQUIRE_TLS_SNIFF_MS) : options.sniffMs);
  reader.release();
  if (first === 'closed') return refuse('closed');
  if (first === 'timeout' || first[0] !== TLS_HANDSHAKE_RECORD) {
    if (options.requireTls) return refuse('tls_required');
    return plain(first === 'timeout' ? Date.now() - started : 0);
  }
  const outcome = await handshake(socket, options.secureContext, options.handshakeTimeoutMs);
  if ('reason' in outcome) return { ok: false, reason: outcome.reason, peerAddress, peerPort, ...(outcome.detail === undefined ? {} : { detail: outcome.detail }) };
  return { ok: true, stream: outcome.tls, socket, peerAddress, peerPort, transport: 'tls', silentMs: 0 };

  function admitOr(opened: TransportOutcome): TransportOutcome {
    const refusal = admit(peerAddress, peerPort);
    return refusal === undefined ? opened : refuse('admission', undefined, refusal);
  }
}
