import { isIP } from 'node:net';

/**
 * What a PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2)
 * says about the connection. `proxy`: the client's real address. `local`
 * (v2 LOCAL, a health check) and `unknown` (v1 UNKNOWN, v2 AF_UNSPEC): no
 * address given, the connection's own address stands.
 */
export type ProxyHeader =
  | {
      readonly version: 1 | 2;
      readonly command: 'proxy';
      readonly family: 'tcp4' | 'tcp6';
      readonly sourceAddress: string;
      readonly sourcePort: number;
      readonly destinationAddress: string;
      readonly destinationPort: number;
    }
  | { readonly version: 1 | 2; readonly command: 'local' | 'unknown' };

export type ProxyErrorCode =
  /** The first bytes are neither `PROXY ` nor the v2 signature. */
  | 'ERR_PROXY_NOT_A_HEADER'
  /** v1 longer than 107 bytes, or a v2 header past the cap. */
  | 'ERR_PROXY_TOO_LONG'
  /** A v1 line that does not follow the grammar. */
  | 'ERR_PROXY_BAD_V1'
  /** An address or port that does not fit its family. */
  | 'ERR_PROXY_BAD_ADDRESS'
  /** v2 version nibble other than 2, or a command other than LOCAL and PROXY. */
  | 'ERR_PROXY_BAD_V2'
  /** v2 AF_UNIX or a datagram transport: not a TCP client. */
  | 'ERR_PROXY_UNSUPPORTED'
  /** v2 length too short for its address family. */
  | 'ERR_PROXY_BAD_LENGTH';

export type ProxyParseResult =
  | { readonly state: 'need-more' }
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly state: 'error'; readonly code: ProxyErrorCode };

/** The longest v1 header, CRLF included (the specification's own bound). */
export const V1_MAX_BYTES = 107;
/** v2 allows 16 + 65535 bytes; addresses and the usual TLVs fit well within this. */
export const V2_MAX_BYTES = 4096;
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_HEADER_BYTES = 16;

const NEED_MORE: ProxyParseResult = Object.freeze({ state: 'need-more' });

function error(code: ProxyErrorCode): ProxyParseResult {
  return { state: 'error', code };
}

/** True when `have` is a prefix of `expected` or starts with all of it. */
function agreesWith(have: Buffer, expected: Buffer): boolean {
  const n = Math.min(have.length, expected.length);
  return have.subarray(0, n).equals(expected.subarray(0, n));
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text) || (text.length > 1 && text.startsWith('0'))) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function parseV1(line: string): ProxyHeader | ProxyErrorCode {
  const parts = line.split(' ');
  if (parts[0] !== 'PROXY') return 'ERR_PROXY_BAD_V1';
  if (parts[1] === 'UNKNOWN') return { version: 1, command: 'unknown' };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return 'ERR_PROXY_BAD_V1';
  const family = parts[1] === 'TCP4' ? 'tcp4' : 'tcp6';
  const ipVersion = family === 'tcp4' ? 4 : 6;
  const [, , source, destination, sourcePortText, destinationPortText] = parts as [string, string, string, string, string, string];
  const sourcePort = parsePort(sourcePortText);
  const destinationPort = parsePort(destinationPortText);
  if (isIP(source) !== ipVersion || isIP(destination) !== ipVersion || sourcePort === undefined || destinationPort === undefined) return 'ERR_PROXY_BAD_ADDRESS';
  return { version: 1, command: 'proxy', family, sourceAddress: source, sourcePort, destinationAddress: destination, destinationPort };
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Canonical form (zero runs compressed) through the URL parser.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function parseV2(header: Buffer): ProxyHeader | ProxyErrorCode {
  const versionCommand = header[12]!;
  if (versionCommand >> 4 !== 2) return 'ERR_PROXY_BAD_V2';
  const command = versionCommand & 0x0f;
  if (command === 0x0) return { version: 2, command: 'local' };
  if (command !== 0x1) return 'ERR_PROXY_BAD_V2';
  const familyByte = header[13]!;
  const addressFamily = familyByte >> 4;
  const transport = familyByte & 0x0f;
  if (addressFamily === 0x0) return { version: 2, command: 'unknown' };
  if ((addressFamily !== 0x1 && addressFamily !== 0x2) || transport !== 0x1) return 'ERR_PROXY_UNSUPPORTED';
  const body = header.subarray(V2_HEADER_BYTES);
  if (addressFamily === 0x1) {
    if (body.length < 12) return 'ERR_PROXY_BAD_LENGTH';
    return {
      version: 2,
      command: 'proxy',
      family: 'tcp4',
      sourceAddress: [...body.subarray(0, 4)].join('.'),
      destinationAddress: [...body.subarray(4, 8)].join('.'),
      sourcePort: body.readUInt16BE(8),
      destinationPort: body.readUInt16BE(10),
    };
  }
  if (body.length < 36) return 'ERR_PROXY_BAD_LENGTH';
  return {
    version: 2,
    command: 'proxy',
    family: 'tcp6',
    sourceAddress: ipv6Text(body.subarray(0, 16)),
    destinationAddress: ipv6Text(body.subarray(16, 32)),
    sourcePort: body.readUInt16BE(32),
    destinationPort: body.readUInt16BE(34),
  };
}

/**
 * Reads one PROXY protocol header (v1 or v2) from the start of a byte
 * stream, socket-free: feed it chunks with `push` until it answers `done`
 * (with the bytes after the header in `rest`) or `error`. It never holds more
 * than V2_MAX_BYTES. TLVs after the v2 addresses are skipped. Single use.
 */
export class ProxyHeaderParser {
  #buffer: Buffer = Buffer.alloc(0);
  #finished = false;

  push(chunk: Buffer): ProxyParseResult {
    if (this.#finished) throw new Error('ProxyHeaderParser is single use: it already answered');
    const buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const result = this.#parse(buffer);
    if (result.state === 'need-more') this.#buffer = buffer;
    else {
      this.#finished = true;
      this.#buffer = Buffer.alloc(0);
    }
    return result;
  }

  #parse(buffer: Buffer): ProxyParseResult {
    if (buffer.length === 0) return NEED_MORE;
    if (buffer[0] === V1_PREFIX[0]) {
      if (!agreesWith(buffer, V1_PREFIX)) return error('ERR_PROXY_NOT_A_HEADER');
      const newline = buffer.indexOf(0x0a);
      if (newline === -1) return buffer.length >= V1_MAX_BYTES ? error('ERR_PROXY_TOO_LONG') : NEED_MORE;
      if (newline + 1 > V1_MAX_BYTES) return error('ERR_PROXY_TOO_LONG');
      if (newline === 0 || buffer[newline - 1] !== 0x0d) return error('ERR_PROXY_BAD_V1');
      const line = buffer.subarray(0, newline - 1);
      // Printable US-ASCII only: the line is a handful of tokens and addresses.
      if (line.some((byte) => byte < 0x20 || byte > 0x7e)) return error('ERR_PROXY_BAD_V1');
      const header = parseV1(line.toString('latin1'));
      return typeof header === 'string' ? error(header) : { state: 'done', header, rest: buffer.subarray(newline + 1) };
    }
    if (!agreesWith(buffer, V2_SIGNATURE)) return error('ERR_PROXY_NOT_A_HEADER');
    if (buffer.length < V2_HEADER_BYTES) return NEED_MORE;
    const total = V2_HEADER_BYTES + buffer.readUInt16BE(14);
    if (total > V2_MAX_BYTES) return error('ERR_PROXY_TOO_LONG');
    if (buffer.length < total) return NEED_MORE;
    const header = parseV2(buffer.subarray(0, total));
    return typeof header === 'string' ? error(header) : { state: 'done', header, rest: buffer.subarray(total) };
  }
}

