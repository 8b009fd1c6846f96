/**
 * Textual IP addresses taken apart, for the two places that group clients by
 * network: the pre-login caps (src/server/cidr.ts, a /24 or /48) and login
 * throttling (src/store/throttles.ts, an IPv6 /64). Pure; no sockets.
 */

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  const match = MAPPED_V4.exec(address);
  return match === null ? address : match[1]!;
}

/** The four bytes of a dotted IPv4 address; undefined if it is not one. */
export function ipv4Bytes(address: string): number[] | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** The sixteen bytes of an IPv6 address (`::` shorthand and a trailing dotted IPv4 part allowed, a `%zone` ignored); undefined if it is not one. */
export function ipv6Bytes(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '').toLowerCase();
  let tail: number[] | undefined;
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted !== null) {
    tail = ipv4Bytes(dotted[1]!);
    if (tail === undefined) return undefined;
    // The dotted part stands for the last two groups.
    text = `${text.slice(0, dotted.index)}:0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const bytes: number[] = [];
  for (const group of [...head, ...Array<string>(missing).fill('0'), ...rest]) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  if (tail !== undefined) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The eight 16-bit groups of IPv6 bytes, lower-case hex without leading zeros (`2001`, `db8`, `0`). */
export function ipv6Groups(bytes: readonly number[]): string[] {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups;
}

/** `bytes` with every bit after the first `bits` cleared. */
export function maskBytes(bytes: readonly number[], bits: number): number[] {
  return bytes.map((byte, i) => {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}
