import { DEFAULT_PORT } from '../protocol/limits.js';

export const DEFAULT_HOST = 'localhost';

/** Where to connect. `host` never carries IPv6 brackets. */
export interface ChatAddress {
  readonly host: string;
  readonly port: number;
  /** Set (true) by a `tls://` address. */
  readonly tls?: boolean;
}

/** A command-line address that cannot be used; the message names the problem. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
  readonly code = 'ERR_CHAT_BAD_ADDRESS';
}

const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

function parsePort(text: string, input: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new AddressError(`bad port ${JSON.stringify(text)} in address ${JSON.stringify(input)}`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new AddressError(`port ${port} is out of range (1-65535) in address ${JSON.stringify(input)}`);
  return port;
}

/**
 * Parses `HOST`, `HOST:PORT`, `tcp://HOST:PORT` (as `ngrok tcp` prints it), `tls://HOST:PORT`,
 * `[IPv6]`, `[IPv6]:PORT` and a bare IPv6 address. Missing parts take the
 * defaults `localhost` and 12345.
 */
export function parseAddress(input: string | undefined): ChatAddress {
  const raw = (input ?? '').trim();
  if (raw === '') return { host: DEFAULT_HOST, port: DEFAULT_PORT };

  let rest = raw;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name !== 'tcp' && name !== 'tls') {
      throw new AddressError(`unsupported scheme ${JSON.stringify(scheme[1])} in ${JSON.stringify(raw)} (only tcp:// and tls:// are understood)`);
    }
    if (name === 'tls') {
      const inner = rest.slice(scheme[0].length);
      if (inner.trim() === '' || inner.includes('://')) throw new AddressError(`no host in address ${JSON.stringify(raw)}`);
      return { ...parseAddress(inner), tls: true };
    }
    rest = rest.slice(scheme[0].length).replace(/\/$/, '');
    if (rest === '') throw new AddressError(`no host in address ${JSON.stringify(raw)}`);
  }
  if (rest.includes('/')) throw new AddressError(`address ${JSON.stringify(raw)} has a path; expected HOST[:PORT]`);

  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw new AddressError(`missing "]" in address ${JSON.stringify(raw)}`);
    const host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (!IPV6.test(host) || !host.includes(':')) throw new AddressError(`bad IPv6 address ${JSON.stringify(host)} in ${JSON.stringify(raw)}`);
    if (after === '') return { host, port: DEFAULT_PORT };
    if (!after.startsWith(':')) throw new AddressError(`unexpected ${JSON.stringify(after)} after "]" in address ${JSON.stringify(raw)}`);
    return { host, port: parsePort(after.slice(1), raw) };
  }

  const colons = rest.split(':').length - 1;
  if (colons > 1) {
    // A bare IPv6 address: any port would be ambiguous, so none is read.
    if (!IPV6.test(rest)) throw new AddressError(`bad address ${JSON.stringify(raw)}; write IPv6 with a port as [::1]:12345`);
    return { host: rest, port: DEFAULT_PORT };
  }
  const [host, port] = colons === 1 ? [rest.slice(0, rest.indexOf(':')), rest.slice(rest.indexOf(':') + 1)] : [rest, undefined];
  if (host === '') throw new AddressError(`no host in address ${JSON.stringify(raw)}`);
  if (!HOST_NAME.test(host) || host.length > 253) throw new AddressError(`bad host name ${JSON.stringify(host)} in address ${JSON.stringify(raw)}`);
  return { host, port: port === undefined ? DEFAULT_PORT : parsePort(port, raw) };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(address: ChatAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
