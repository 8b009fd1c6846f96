import { describe, expect, it } from 'vitest';
import { ProxyHeaderParser, V2_SIGNATURE, type ProxyParseResult } from '../../src/server/proxy-protocol.js';

/** Feeds `bytes` whole, then byte by byte, and expects the same answer both ways. */
function parseBoth(bytes: Buffer): ProxyParseResult {
  const whole = new ProxyHeaderParser().push(bytes);
  const parser = new ProxyHeaderParser();
  let split: ProxyParseResult = { state: 'need-more' };
  for (let i = 0; i < bytes.length && split.state === 'need-more'; i += 1) split = parser.push(bytes.subarray(i, i + 1));
  const normal = (r: ProxyParseResult) => (r.state === 'done' ? { ...r, rest: Buffer.from(r.rest).toString('latin1') } : r);
  // Byte by byte, `rest` is whatever came in the last push: nothing after the header.
  if (whole.state === 'done' && split.state === 'done') expect(normal({ ...split, rest: whole.rest })).toEqual(normal(whole));
  else expect(split).toEqual(whole);
  return whole;
}

function v2(command: number, family: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = family;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, body]);
}

function v2Inet(src: number[], dst: number[], sport: number, dport: number, tlvs = Buffer.alloc(0)): Buffer {
  const body = Buffer.alloc(12);
  Buffer.from(src).copy(body, 0);
  Buffer.from(dst).copy(body, 4);
  body.writeUInt16BE(sport, 8);
  body.writeUInt16BE(dport, 10);
  return v2(0x1, 0x11, Buffer.concat([body, tlvs]));
}

describe('ProxyHeaderParser v1', () => {
  it('reads TCP4 and keeps what follows', () => {
    const result = parseBoth(Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 51000 12345\r\nshon\n'));
    expect(result).toMatchObject({ state: 'done', header: { version: 1, command: 'proxy', family: 'tcp4', sourceAddress: '203.0.113.7', sourcePort: 51000, destinationAddress: '192.0.2.1', destinationPort: 12345 } });
    expect(result.state === 'done' && result.rest.toString()).toBe('shon\n');
  });

  it('reads TCP6 and UNKNOWN', () => {
    expect(parseBoth(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 4000 12345\r\n'))).toMatchObject({ state: 'done', header: { family: 'tcp6', sourceAddress: '2001:db8::7', sourcePort: 4000 } });
    expect(parseBoth(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'))).toMatchObject({ state: 'done', header: { version: 1, command: 'unknown' } });
    expect(parseBoth(Buffer.from('PROXY UNKNOWN\r\n'))).toMatchObject({ state: 'done', header: { command: 'unknown' } });
  });

  it('waits for more while the header is incomplete', () => {
    expect(new ProxyHeaderParser().push(Buffer.from('PROXY TCP4 1.2.3.4'))).toEqual({ state: 'need-more' });
    expect(new ProxyHeaderParser().push(Buffer.from('PRO'))).toEqual({ state: 'need-more' });
  });

  it.each([
    ['not a header', 'shon\n', 'ERR_PROXY_NOT_A_HEADER'],
    ['lower case', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'ERR_PROXY_NOT_A_HEADER'],
    ['no CR', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'ERR_PROXY_BAD_V1'],
    ['bad protocol', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', 'ERR_PROXY_BAD_V1'],
    ['missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', 'ERR_PROXY_BAD_V1'],
    ['double space', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', 'ERR_PROXY_BAD_V1'],
    ['IPv6 in TCP4', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n', 'ERR_PROXY_BAD_ADDRESS'],
    ['bad address', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n', 'ERR_PROXY_BAD_ADDRESS'],
    ['port too big', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', 'ERR_PROXY_BAD_ADDRESS'],
    ['leading zero port', 'PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n', 'ERR_PROXY_BAD_ADDRESS'],
    ['control byte', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\u0000\r\n', 'ERR_PROXY_BAD_V1'],
    ['too long', `PROXY UNKNOWN ${'x'.repeat(120)}\r\n`, 'ERR_PROXY_TOO_LONG'],
  ])('refuses %s', (_, text, code) => {
    expect(parseBoth(Buffer.from(text, 'latin1'))).toEqual({ state: 'error', code });
  });

  it('gives up at 107 bytes without a line end, not later', () => {
    expect(new ProxyHeaderParser().push(Buffer.from(`PROXY ${'1'.repeat(101)}`))).toEqual({ state: 'error', code: 'ERR_PROXY_TOO_LONG' });
  });
});

describe('ProxyHeaderParser v2', () => {
  it('reads PROXY over IPv4, skipping TLVs, and keeps what follows', () => {
    const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]);
    const bytes = Buffer.concat([v2Inet([198, 51, 100, 9], [10, 0, 0, 1], 40000, 12345, tlv), Buffer.from([0x16, 0x03, 0x01])]);
    const result = parseBoth(bytes);
    expect(result).toMatchObject({ state: 'done', header: { version: 2, command: 'proxy', family: 'tcp4', sourceAddress: '198.51.100.9', sourcePort: 40000, destinationAddress: '10.0.0.1', destinationPort: 12345 } });
    expect(result.state === 'done' && [...result.rest]).toEqual([0x16, 0x03, 0x01]);
  });

  it('reads PROXY over IPv6', () => {
    const body = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000007', 'hex').copy(body, 0);
    Buffer.from('00000000000000000000000000000001', 'hex').copy(body, 16);
    body.writeUInt16BE(5555, 32);
    body.writeUInt16BE(12345, 34);
    expect(parseBoth(v2(0x1, 0x21, body))).toMatchObject({ state: 'done', header: { family: 'tcp6', sourceAddress: '2001:db8::7', destinationAddress: '::1', sourcePort: 5555 } });
  });

  it('reads LOCAL (a health check) and AF_UNSPEC as "no address"', () => {
    expect(parseBoth(v2(0x0, 0x00, Buffer.alloc(0)))).toMatchObject({ state: 'done', header: { version: 2, command: 'local' } });
    expect(parseBoth(v2(0x1, 0x00, Buffer.alloc(0)))).toMatchObject({ state: 'done', header: { command: 'unknown' } });
  });

  it.each([
    ['a wrong signature byte', Buffer.concat([Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b]), Buffer.alloc(4)]), 'ERR_PROXY_NOT_A_HEADER'],
    ['version 1 nibble', (() => { const b = v2Inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2); b[12] = 0x11; return b; })(), 'ERR_PROXY_BAD_V2'],
    ['an unknown command', v2(0x2, 0x11, Buffer.alloc(12)), 'ERR_PROXY_BAD_V2'],
    ['UDP', v2(0x1, 0x12, Buffer.alloc(12)), 'ERR_PROXY_UNSUPPORTED'],
    ['AF_UNIX', v2(0x1, 0x31, Buffer.alloc(216)), 'ERR_PROXY_UNSUPPORTED'],
    ['a short IPv4 body', v2(0x1, 0x11, Buffer.alloc(8)), 'ERR_PROXY_BAD_LENGTH'],
    ['a short IPv6 body', v2(0x1, 0x21, Buffer.alloc(12)), 'ERR_PROXY_BAD_LENGTH'],
  ])('refuses %s', (_, bytes, code) => {
    expect(parseBoth(bytes)).toEqual({ state: 'error', code });
  });

  it('refuses a length past its cap as soon as the length is known', () => {
    const head = Buffer.from([0x21, 0x11, 0xff, 0xff]);
    expect(new ProxyHeaderParser().push(Buffer.concat([V2_SIGNATURE, head]))).toEqual({ state: 'error', code: 'ERR_PROXY_TOO_LONG' });
  });

  it('is single use', () => {
    const parser = new ProxyHeaderParser();
    parser.push(Buffer.from('PROXY UNKNOWN\r\n'));
    expect(() => parser.push(Buffer.from('x'))).toThrow(/single use/);
  });
});
