import { describe, expect, it } from 'vitest';
import { CidrError, networkPrefix, parseCidrList } from '../../src/server/cidr.js';
import { unmapIPv4 } from '../../src/util/ip-address.js';

describe('parseCidrList', () => {
  it('matches IPv4 and IPv6 ranges, and IPv4-mapped IPv6 addresses as IPv4', () => {
    const list = parseCidrList('127.0.0.0/8, ::1/128,10.1.0.0/16');
    expect(list.ranges).toEqual(['127.0.0.0/8', '::1/128', '10.1.0.0/16']);
    for (const inside of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1', '10.1.200.3']) expect(list.contains(inside), inside).toBe(true);
    for (const outside of ['128.0.0.1', '::2', '10.2.0.1', '::ffff:10.2.0.1', 'unknown', '']) expect(list.contains(outside), outside).toBe(false);
  });

  it('takes a bare address as a single host, and /0 as everything', () => {
    expect(parseCidrList('192.0.2.7').contains('192.0.2.7')).toBe(true);
    expect(parseCidrList('192.0.2.7').contains('192.0.2.8')).toBe(false);
    expect(parseCidrList('0.0.0.0/0').contains('8.8.8.8')).toBe(true);
    expect(parseCidrList('2001:db8::/32').contains('2001:db8:ffff::1')).toBe(true);
  });

  it.each(['', ',', 'localhost', '10.0.0.0/33', '::1/129', '10.0.0.0/x', '1.2.3/8'])('refuses %j', (text) => {
    expect(() => parseCidrList(text)).toThrow(CidrError);
  });

  it('unmaps only IPv4-mapped addresses', () => {
    expect(unmapIPv4('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(unmapIPv4('::1')).toBe('::1');
  });
});

describe('networkPrefix', () => {
  it.each([
    ['203.0.113.77', 24, 48, '203.0.113.0/24'],
    ['203.0.113.77', 16, 48, '203.0.0.0/16'],
    ['203.0.113.77', 32, 48, '203.0.113.77/32'],
    ['203.0.113.77', 20, 48, '203.0.112.0/20'],
    ['::ffff:203.0.113.77', 24, 48, '203.0.113.0/24'],
    ['2001:db8:abcd:12::1', 24, 48, '2001:db8:abcd:0:0:0:0:0/48'],
    ['2001:DB8:ABCD:ffff:1:2:3:4', 24, 56, '2001:db8:abcd:ff00:0:0:0:0/56'],
    ['2001:db8:abcd:ffff:1:2:3:4', 24, 128, '2001:db8:abcd:ffff:1:2:3:4/128'],
    ['fe80::1%eth0', 24, 48, 'fe80:0:0:0:0:0:0:0/48'],
    ['::1', 24, 48, '0:0:0:0:0:0:0:0/48'],
    ['64:ff9b::192.0.2.33', 24, 96, '64:ff9b:0:0:0:0:0:0/96'],
    ['unknown', 24, 48, 'unknown'],
    ['1:2:3', 24, 48, '1:2:3'],
  ])('%s (v4 /%d, v6 /%d) is in %s', (address, v4, v6, expected) => {
    expect(networkPrefix(address, v4, v6)).toBe(expected);
  });

  it('two addresses of one /24 share a network, neighbours do not', () => {
    expect(networkPrefix('198.51.100.1', 24, 48)).toBe(networkPrefix('198.51.100.254', 24, 48));
    expect(networkPrefix('198.51.100.1', 24, 48)).not.toBe(networkPrefix('198.51.101.1', 24, 48));
  });
});
