import { BlockList, isIP } from 'node:net';
import { ipv4Bytes, ipv6Bytes, ipv6Groups, maskBytes, unmapIPv4 } from '../util/ip-address.js';

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

/**
 * The network an address belongs to, as `ADDRESS/BITS`: an IPv4 address (or
 * an IPv4-mapped IPv6 one) cut to `v4Bits`, an IPv6 address to `v6Bits`.
 * Anything else (a Unix socket, `unknown`) is its own network.
 */
export function networkPrefix(address: string, v4Bits: number, v6Bits: number): string {
  const plain = unmapIPv4(address);
  const v4 = ipv4Bytes(plain);
  if (v4 !== undefined) return `${maskBytes(v4, v4Bits).join('.')}/${v4Bits}`;
  const v6 = plain.includes(':') ? ipv6Bytes(plain) : undefined;
  if (v6 === undefined) return address;
  return `${ipv6Groups(maskBytes(v6, v6Bits)).join(':')}/${v6Bits}`;
}
