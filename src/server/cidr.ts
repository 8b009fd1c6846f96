import { BlockList, isIP } from 'node:net';

/** A list of address ranges, such as `--trusted-proxy 127.0.0.0/8,::1/128`. */
export interface CidrList {
  /** The ranges as given, normalised (`10.0.0.0/8`). */
  readonly ranges: readonly string[];
  /** True when `address` is in one of the ranges; an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) counts as its IPv4 address. */
  contains(address: string): boolean;
}

export class CidrError extends Error {
  override readonly name = 'CidrError';
  readonly code = 'ERR_BAD_CIDR';
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  const match = MAPPED_V4.exec(address);
  return match === null ? address : match[1]!;
}

/** Parses a comma-separated list of `ADDRESS/BITS` (or a bare address, a /32 or /128); throws CidrError naming the bad entry. */
export function parseCidrList(text: string): CidrList {
  const list = new BlockList();
  const ranges: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const address = unmapIPv4(slash === -1 ? entry : entry.slice(0, slash));
    const family = isIP(address);
    if (family === 0) throw new CidrError(`${JSON.stringify(entry)} is not an IP address or range`);
    const maxBits = family === 4 ? 32 : 128;
    const bitsText = slash === -1 ? String(maxBits) : entry.slice(slash + 1);
    const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (!(bits >= 0 && bits <= maxBits)) throw new CidrError(`${JSON.stringify(entry)} has a bad prefix length (0-${maxBits})`);
    list.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    ranges.push(`${address}/${bits}`);
  }
  if (ranges.length === 0) throw new CidrError('no address range given');
  return Object.freeze({
    ranges: Object.freeze(ranges),
    contains(address: string): boolean {
      const plain = unmapIPv4(address);
      const family = isIP(plain);
      if (family === 0) return false;
      return list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  });
}

/** The sixteen bytes of an IPv6 address (a trailing dotted IPv4 part allowed, a zone ignored); undefined if it is not one. */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '').toLowerCase();
  const tail: number[] = [];
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted !== null) {
    const v4 = ipv4Bytes(dotted[1]!);
    if (v4 === undefined) return undefined;
    tail.push(...v4);
    text = `${text.slice(0, dotted.index)}:0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...head, ...Array<string>(missing).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const group of all) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  if (tail.length > 0) bytes.splice(12, 4, ...tail);
  return bytes;
}

function ipv4Bytes(address: string): number[] | undefined {
  const parts = address.split('.').map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? parts : undefined;
}

function masked(bytes: readonly number[], bits: number): number[] {
  return bytes.map((byte, i) => {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}

/**
 * The network an address belongs to, as `ADDRESS/BITS`: an IPv4 address (or
 * an IPv4-mapped IPv6 one) cut to `v4Bits`, an IPv6 address to `v6Bits`.
 * Anything else (a Unix socket, `unknown`) is its own network.
 */
export function networkPrefix(address: string, v4Bits: number, v6Bits: number): string {
  const plain = unmapIPv4(address);
  const v4 = ipv4Bytes(plain);
  if (v4 !== undefined) return `${masked(v4, v4Bits).join('.')}/${v4Bits}`;
  const v6 = plain.includes(':') ? ipv6Bytes(plain) : undefined;
  if (v6 === undefined) return address;
  const bytes = masked(v6, v6Bits);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${groups.join(':')}/${v6Bits}`;
}
