import { describe, expect, it } from 'vitest';
import { AddressError, formatAddress, parseAddress } from '../../src/client/address.js';

describe('parseAddress', () => {
  it.each([
    [undefined, 'localhost', 12345],
    ['', 'localhost', 12345],
    ['chat.example.org', 'chat.example.org', 12345],
    ['chat.example.org:4000', 'chat.example.org', 4000],
    ['127.0.0.1:1', '127.0.0.1', 1],
    ['tcp://0.tcp.eu.ngrok.io:12345', '0.tcp.eu.ngrok.io', 12345],
    ['tcp://0.tcp.eu.ngrok.io:19876/', '0.tcp.eu.ngrok.io', 19876],
    ['TCP://host', 'host', 12345],
    ['[::1]:12345', '::1', 12345],
    ['[::1]', '::1', 12345],
    ['tcp://[2001:db8::5]:777', '2001:db8::5', 777],
    ['::1', '::1', 12345],
    ['[fe80::1%eth0]:9', 'fe80::1%eth0', 9],
    ['  localhost:65535 ', 'localhost', 65535],
  ])('%j → %s:%i', (input, host, port) => {
    expect(parseAddress(input)).toEqual({ host, port });
  });

  it.each([
    ['host:0', /out of range/],
    ['host:65536', /out of range/],
    ['host:http', /bad port/],
    ['host:', /bad port/],
    [':12345', /no host/],
    ['http://host:80', /unsupported scheme "http"/],
    ['tcp://', /no host/],
    ['host/path', /has a path/],
    ['[::1', /missing "\]"/],
    ['[::1]x', /unexpected/],
    ['[nothost]:1', /bad IPv6/],
    ['bad host', /bad host name/],
    ['-host', /bad host name/],
    ['1:2:zz', /bad address/],
  ])('%j is refused', (input, message) => {
    expect(() => parseAddress(input)).toThrow(AddressError);
    expect(() => parseAddress(input)).toThrow(message);
  });

  it('formats IPv6 hosts with brackets', () => {
    expect(formatAddress({ host: '::1', port: 5 })).toBe('[::1]:5');
    expect(formatAddress({ host: 'localhost', port: 12345 })).toBe('localhost:12345');
  });
});
