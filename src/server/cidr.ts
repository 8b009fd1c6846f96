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
