import { describe, expect, it } from 'vitest';
import { networkPrefix } from '../../src/server/cidr.js';
import { AddressCounter, admitOpen, admitPreLogin, PreLoginPool, type ConnectionCaps } from '../../src/server/connection-caps.js';

const CAPS: ConnectionCaps = { maxConnections: 0, maxPerAddress: 0, maxPreLogin: 256, maxPreLoginPerAddress: 8, maxPreLoginPerPrefix: 0 };
const prefix = (address: string) => networkPrefix(address, 24, 48);

/** Joins the pool as the server does: admit, evict the one named, add. Returns the decision. */
function arrive(pool: PreLoginPool<string>, caps: ConnectionCaps, id: string, address: string) {
  const decision = admitPreLogin(caps, pool, address, prefix(address));
  if (decision.admit) {
    if (decision.evict !== undefined) pool.remove(decision.evict);
    pool.add(id, address, prefix(address));
  }
  return decision;
}

describe('pre-login pool', () => {
  it('an attacker filling the pool from one /24 cannot keep a user from another /24 out', () => {
    const pool = new PreLoginPool<string>();
    // 40 addresses of 10.0.0.0/24, 8 pending logins each: 320 tries for 256 places.
    for (let i = 0; i < 320; i++) arrive(pool, CAPS, `a${i}`, `10.0.0.${i % 40}`);
    expect(pool.total).toBe(256);
    const user = arrive(pool, CAPS, 'user', '192.0.2.10');
    expect(user).toEqual({ admit: true, evict: 'a0' });
    expect(pool.total).toBe(256);
    // The attacker cannot take the user's place back: its network is no less busy than itself.
    expect(arrive(pool, CAPS, 'again', '10.0.0.1')).toEqual({ admit: false, refusal: 'max_prelogin' });
    expect(pool.ofPrefix(prefix('192.0.2.10'))).toBe(1);
  });

  it('evicts the oldest pending login of the busiest network, in arrival order', () => {
    const pool = new PreLoginPool<string>();
    const caps = { ...CAPS, maxPreLogin: 5, maxPreLoginPerAddress: 0 };
    for (const [id, address] of [['b1', '10.0.1.1'], ['a1', '10.0.0.1'], ['a2', '10.0.0.2'], ['a3', '10.0.0.3'], ['b2', '10.0.1.2']] as const) arrive(pool, caps, id, address);
    expect(arrive(pool, caps, 'u1', '192.0.2.1')).toEqual({ admit: true, evict: 'a1' });
    // 10.0.0.0/24 and 10.0.1.0/24 now hold 2 each: the one pending longest gives way first.
    expect(arrive(pool, caps, 'u2', '192.0.2.2')).toEqual({ admit: true, evict: 'b1' });
    expect(arrive(pool, caps, 'u3', '198.51.100.3')).toEqual({ admit: true, evict: 'a2' });
  });

  it('IPv6 addresses count by /48', () => {
    const pool = new PreLoginPool<string>();
    const caps = { ...CAPS, maxPreLogin: 3, maxPreLoginPerAddress: 0 };
    for (let i = 1; i <= 3; i++) arrive(pool, caps, `v6-${i}`, `2001:db8:1:${i}::1`);
    expect(arrive(pool, caps, 'same48', '2001:db8:1:ffff::9')).toEqual({ admit: false, refusal: 'max_prelogin' });
    expect(arrive(pool, caps, 'other48', '2001:db8:2::1')).toEqual({ admit: true, evict: 'v6-1' });
  });

  it('a full pool of equally busy networks refuses a newcomer from one of them', () => {
    const pool = new PreLoginPool<string>();
    const caps = { ...CAPS, maxPreLogin: 2 };
    arrive(pool, caps, 'x', '10.0.0.1');
    arrive(pool, caps, 'y', '10.0.1.1');
    expect(arrive(pool, caps, 'z', '10.0.0.2')).toEqual({ admit: false, refusal: 'max_prelogin' });
  });

  it('keeps the per-address and per-prefix caps, and 0 switches them off', () => {
    const pool = new PreLoginPool<string>();
    const caps = { ...CAPS, maxPreLoginPerAddress: 2, maxPreLoginPerPrefix: 3 };
    arrive(pool, caps, '1', '10.0.0.1');
    arrive(pool, caps, '2', '10.0.0.1');
    expect(arrive(pool, caps, '3', '10.0.0.1')).toEqual({ admit: false, refusal: 'max_prelogin_per_address' });
    arrive(pool, caps, '4', '10.0.0.2');
    expect(arrive(pool, caps, '5', '10.0.0.3')).toEqual({ admit: false, refusal: 'max_prelogin_per_prefix' });
    expect(arrive(pool, caps, '6', '10.0.1.3')).toEqual({ admit: true });
    const open = { ...caps, maxPreLogin: 0, maxPreLoginPerAddress: 0, maxPreLoginPerPrefix: 0 };
    for (let i = 0; i < 50; i++) expect(arrive(pool, open, `o${i}`, '10.0.0.1').admit).toBe(true);
  });

  it('forgets removed entries exactly once and keeps its counts right', () => {
    const pool = new PreLoginPool<string>();
    pool.add('a', '10.0.0.1', prefix('10.0.0.1'));
    pool.add('a', '10.0.0.1', prefix('10.0.0.1'));
    pool.add('b', '10.0.0.2', prefix('10.0.0.2'));
    expect([pool.total, pool.ofAddress('10.0.0.1'), pool.ofPrefix('10.0.0.0/24')]).toEqual([2, 1, 2]);
    expect(pool.remove('a')).toBe(true);
    expect(pool.remove('a')).toBe(false);
    expect([pool.total, pool.ofAddress('10.0.0.1'), pool.ofPrefix('10.0.0.0/24')]).toEqual([1, 0, 1]);
    expect(pool.busiestPrefix()).toEqual({ prefix: '10.0.0.0/24', count: 1, oldest: 'b' });
    pool.remove('b');
    expect(pool.busiestPrefix()).toBeUndefined();
  });
});

describe('open connection caps', () => {
  it('refuses past the total and the per-address cap', () => {
    const open = new AddressCounter();
    const caps = { ...CAPS, maxConnections: 3, maxPerAddress: 2 };
    open.add('10.0.0.1');
    open.add('10.0.0.1');
    expect(admitOpen(caps, open, '10.0.0.1')).toBe('max_per_address');
    expect(admitOpen(caps, open, '10.0.0.2')).toBeUndefined();
    open.add('10.0.0.2');
    expect(admitOpen(caps, open, '10.0.0.3')).toBe('max_connections');
  });
});
