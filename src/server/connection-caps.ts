/** Counts open connections in all and per client address. */
export class AddressCounter {
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  get total(): number {
    return this.#total;
  }

  of(address: string): number {
    return this.#byAddress.get(address) ?? 0;
  }

  add(address: string): void {
    this.#total += 1;
    this.#byAddress.set(address, this.of(address) + 1);
  }

  remove(address: string): void {
    const left = this.of(address) - 1;
    if (left < 0) return;
    this.#total -= 1;
    if (left === 0) this.#byAddress.delete(address);
    else this.#byAddress.set(address, left);
  }
}

export interface ConnectionCaps {
  maxConnections: number;
  maxPerAddress: number;
  maxPreLogin: number;
  maxPreLoginPerAddress: number;
}

export type Refusal = 'max_connections' | 'max_per_address' | 'max_prelogin' | 'max_prelogin_per_address';

/** The one line a refused connection reads before it is closed (plain text: nc users read it, JSON clients skip it). */
export const REFUSAL_LINES: Readonly<Record<Refusal, string>> = {
  max_connections: '! Server busy: too many connections. Try again later.\n',
  max_per_address: '! Too many connections from your address. Try again later.\n',
  max_prelogin: '! Server busy: too many logins in progress. Try again later.\n',
  max_prelogin_per_address: '! Too many logins in progress from your address. Try again later.\n',
};

/** Decides, before any work is done for it, whether a new connection from `address` may open. 0 = no limit. */
export function admit(caps: ConnectionCaps, open: AddressCounter, preLogin: AddressCounter, address: string): Refusal | undefined {
  if (caps.maxConnections > 0 && open.total >= caps.maxConnections) return 'max_connections';
  if (caps.maxPerAddress > 0 && open.of(address) >= caps.maxPerAddress) return 'max_per_address';
  if (caps.maxPreLogin > 0 && preLogin.total >= caps.maxPreLogin) return 'max_prelogin';
  if (caps.maxPreLoginPerAddress > 0 && preLogin.of(address) >= caps.maxPreLoginPerAddress) return 'max_prelogin_per_address';
  return undefined;
}
