import { describe, expect, it } from 'vitest';
import { ipv4Bytes, ipv6Bytes, ipv6Groups, maskBytes, unmapIPv4 } from '../../src/util/ip-address.js';

describe('ipv4Bytes', () => {
  it.each([
    ['1.2.3.4', [1, 2, 3, 4]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['0.0.0.0', [0, 0, 0, 0]],
  ])('%s', (address, bytes) => {
    expect(ipv4Bytes(address)).toEqual(bytes);
  });

  it.each(['1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', 'a.b.c.d', ' 1.2.3.4', '1.2.3.4444', '::1', ''])('rejects %j', (address) => {
    expect(ipv4Bytes(address)).toBeUndefined();
  });
});

describe('ipv6Bytes', () => {
  const bytesOf = (...groups: number[]): number[] => groups.flatMap((g) => [g >> 8, g & 0xff]);

  it.each([
    ['::', bytesOf(0, 0, 0, 0, 0, 0, 0, 0)],
    ['::1', bytesOf(0, 0, 0, 0, 0, 0, 0, 1)],
    ['2001:db8::', bytesOf(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0)],
    ['2001:DB8:0:0:1:2:3:4', bytesOf(0x2001, 0xdb8, 0, 0, 1, 2, 3, 4)],
    ['fe80::1%eth0', bytesOf(0xfe80, 0, 0, 0, 0, 0, 0, 1)],
    ['2001:db8:1::ab:0', bytesOf(0x2001, 0xdb8, 1, 0, 0, 0, 0xab, 0)],
    ['::ffff:192.0.2.1', bytesOf(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)],
    ['64:ff9b::198.51.100.7', bytesOf(0x64, 0xff9b, 0, 0, 0, 0, 0xc633, 0x6407)],
  ])('%s', (address, bytes) => {
    expect(ipv6Bytes(address)).toEqual(bytes);
  });

  it.each(['1.2.3.4', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '::ffff:300.1.1.1', ':', 'unknown', ''])('rejects %j', (address) => {
    expect(ipv6Bytes(address)).toBeUndefined();
  });
});

describe('ipv6Groups and maskBytes', () => {
  it('prints groups in lower case without leading zeros', () => {
    expect(ipv6Groups(ipv6Bytes('2001:0DB8:000a::0001')!)).toEqual(['2001', 'db8', 'a', '0', '0', '0', '0', '1']);
  });

  it('keeps the first bits and clears the rest, inside a byte too', () => {
    expect(maskBytes([0xff, 0xff, 0xff, 0xff], 20)).toEqual([0xff, 0xff, 0xf0, 0]);
    expect(maskBytes([1, 2, 3, 4], 32)).toEqual([1, 2, 3, 4]);
    expect(maskBytes([1, 2, 3, 4], 0)).toEqual([0, 0, 0, 0]);
    expect(ipv6Groups(maskBytes(ipv6Bytes('2001:db8:abcd:1234:5678::1')!, 48))).toEqual(['2001', 'db8', 'abcd', '0', '0', '0', '0', '0']);
  });
});

describe('unmapIPv4', () => {
  it('unmaps only IPv4-mapped IPv6 addresses', () => {
    expect(unmapIPv4('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(unmapIPv4('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(unmapIPv4('::1')).toBe('::1');
    expect(unmapIPv4('1.2.3.4')).toBe('1.2.3.4');
    expect(unmapIPv4('64:ff9b::1.2.3.4')).toBe('64:ff9b::1.2.3.4');
  });
});
