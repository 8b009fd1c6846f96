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
  maxPreLoginPerPrefix: number;
}

export type Refusal = 'max_connections' | 'max_per_address' | 'max_prelogin' | 'max_prelogin_per_address' | 'max_prelogin_per_prefix';

/** The one line a refused connection reads before it is closed (plain text: nc users read it, JSON clients skip it). */
export const REFUSAL_LINES: Readonly<Record<Refusal, string>> = {
  max_connections: '! Server busy: too many connections. Try again later.\n',
  max_per_address: '! Too many connections from your address. Try again later.\n',
  max_prelogin: '! Server busy: too many logins in progress. Try again later.\n',
  max_prelogin_per_address: '! Too many logins in progress from your address. Try again later.\n',
  max_prelogin_per_prefix: '! Too many logins in progress from your network. Try again later.\n',
};

/** The line an evicted login reads while its transport is still being set up. */
export const EVICTED_LINE = '! Server busy: too many logins in progress, and yours had waited longest. Try again later.\n';

/** What an evicted pending login is told: the pool was full and it had waited longest of the busiest network. */
export const EVICTED_MESSAGE = 'the server is full of logins in progress, and yours had waited longest of the busiest network';

/** Decides, before any work is done for it, whether a new connection from `address` may open at all. 0 = no limit. */
export function admitOpen(caps: ConnectionCaps, open: AddressCounter, address: string): Refusal | undefined {
  if (caps.maxConnections > 0 && open.total >= caps.maxConnections) return 'max_connections';
  if (caps.maxPerAddress > 0 && open.of(address) >= caps.maxPerAddress) return 'max_per_address';
  return undefined;
}

/**
 * Connections not logged in yet, counted per client address and per network
 * prefix (the /24 or /48 an attacker is likely to hold whole), each prefix's
 * entries in arrival order. `T` is whatever the caller needs to end one.
 */
export class PreLoginPool<T> {
  readonly #entries = new Map<T, { address: string; prefix: string }>();
  readonly #byAddress = new AddressCounter();
  readonly #byPrefix = new Map<string, Set<T>>();

  get total(): number {
    return this.#entries.size;
  }

  ofAddress(address: string): number {
    return this.#byAddress.of(address);
  }

  ofPrefix(prefix: string): number {
    return this.#byPrefix.get(prefix)?.size ?? 0;
  }

  add(entry: T, address: string, prefix: string): void {
    if (this.#entries.has(entry)) return;
    this.#entries.set(entry, { address, prefix });
    this.#byAddress.add(address);
    let group = this.#byPrefix.get(prefix);
    if (group === undefined) this.#byPrefix.set(prefix, (group = new Set()));
    group.add(entry);
  }

  /** Forgets an entry; false if it was not there (already removed or evicted). */
  remove(entry: T): boolean {
    const known = this.#entries.get(entry);
    if (known === undefined) return false;
    this.#entries.delete(entry);
    this.#byAddress.remove(known.address);
    const group = this.#byPrefix.get(known.prefix)!;
    group.delete(entry);
    if (group.size === 0) this.#byPrefix.delete(known.prefix);
    return true;
  }

  /** The prefix holding the most entries (of equals, the one pending longest), with its oldest entry. */
  busiestPrefix(): { prefix: string; count: number; oldest: T } | undefined {
    let best: { prefix: string; count: number; oldest: T } | undefined;
    for (const [prefix, group] of this.#byPrefix) {
      if (best === undefined || group.size > best.count) best = { prefix, count: group.size, oldest: group.values().next().value as T };
    }
    return best;
  }
}

export type PreLoginDecision<T> = { readonly admit: true; readonly evict?: T } | { readonly admit: false; readonly refusal: Refusal };

/**
 * Whether a connection from `address` (in network `prefix`) may join the
 * pre-login pool. Past the per-address or per-prefix cap it is refused. When
 * the pool is full, a newcomer from a network with fewer pending logins than
 * the busiest one takes the place of that network's oldest pending login (as
 * OpenSSH's per-source startups and random early drop make room): an
 * attacker holding a whole prefix can fill the pool but never keep a user from
 * another prefix out. 0 = no limit.
 */
export function admitPreLogin<T>(caps: ConnectionCaps, pool: PreLoginPool<T>, address: string, prefix: string): PreLoginDecision<T> {
  if (caps.maxPreLoginPerAddress > 0 && pool.ofAddress(address) >= caps.maxPreLoginPerAddress) return { admit: false, refusal: 'max_prelogin_per_address' };
  if (caps.maxPreLoginPerPrefix > 0 && pool.ofPrefix(prefix) >= caps.maxPreLoginPerPrefix) return { admit: false, refusal: 'max_prelogin_per_prefix' };
  if (caps.maxPreLogin === 0 || pool.total < caps.maxPreLogin) return { admit: true };
  const busiest = pool.busiestPrefix();
  if (busiest !== undefined && pool.ofPrefix(prefix) < busiest.count) return { admit: true, evict: busiest.oldest };
  return { admit: false, refusal: 'max_prelogin' };
}
