import { describe, expect, it } from 'vitest';
import { changedIdentityMessage, decideTrust, findKnownHost, knownHostsPath, parseKnownHosts } from '../../src/client/known-hosts.js';

const FP_A = Array.from({ length: 32 }, () => 'AB').join(':');
const FP_B = Array.from({ length: 32 }, () => 'CD').join(':');

describe('known_hosts', () => {
  it('parses entries, skipping comments and junk, and finds by host:port case-insensitively', () => {
    const hosts = parseKnownHosts(`# pinned\nchat.example.org:12345 ${FP_A.toLowerCase()}\nbroken line\n[::1]:2000 ${FP_B}\nx:1 not-a-fingerprint\n`);
    expect(hosts).toEqual([
      { hostPort: 'chat.example.org:12345', fingerprint: FP_A, line: 2 },
      { hostPort: '[::1]:2000', fingerprint: FP_B, line: 4 },
    ]);
    expect(findKnownHost(hosts, 'Chat.Example.org:12345')?.fingerprint).toBe(FP_A);
    expect(findKnownHost(hosts, 'chat.example.org:1')).toBeUndefined();
  });

  it('lives in CHAT_KNOWN_HOSTS, else under XDG_CONFIG_HOME, else ~/.config', () => {
    expect(knownHostsPath({ CHAT_KNOWN_HOSTS: '/tmp/kh' }, '/home/u')).toBe('/tmp/kh');
    expect(knownHostsPath({ XDG_CONFIG_HOME: '/cfg' }, '/home/u')).toBe('/cfg/chat-client/known_hosts');
    expect(knownHostsPath({}, '/home/u')).toBe('/home/u/.config/chat-client/known_hosts');
  });
});

describe('decideTrust', () => {
  const base = { authorized: false, authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT', fingerprint: FP_A, pinned: undefined, insecure: false };
  const pin = (fingerprint: string) => ({ hostPort: 'h:1', fingerprint, line: 3 });

  it.each([
    ['a CA-verified certificate', { ...base, authorized: true, authorizationError: undefined }, { kind: 'trusted', by: 'ca' }],
    ['--insecure', { ...base, insecure: true }, { kind: 'trusted', by: 'insecure' }],
    ['a matching pin', { ...base, pinned: pin(FP_A) }, { kind: 'trusted', by: 'pin' }],
    ['a new self-signed certificate', base, { kind: 'unknown', fingerprint: FP_A }],
    ['an unknown issuer', { ...base, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, { kind: 'unknown', fingerprint: FP_A }],
    ['a changed certificate', { ...base, pinned: pin(FP_B) }, { kind: 'changed', pinned: pin(FP_B), fingerprint: FP_A }],
    ['an expired CA certificate', { ...base, authorizationError: 'CERT_HAS_EXPIRED' }, { kind: 'invalid', reason: 'CERT_HAS_EXPIRED' }],
    ['a wrong host name', { ...base, authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID' }, { kind: 'invalid', reason: 'ERR_TLS_CERT_ALTNAME_INVALID' }],
  ])('%s', (_, facts, decision) => {
    expect(decideTrust(facts)).toEqual(decision);
  });

  it('says loudly what changed and how to remove the old line', () => {
    const text = changedIdentityMessage('h:1', pin(FP_B), FP_A, '/tmp/kh');
    expect(text).toContain('IDENTITY HAS CHANGED');
    expect(text).toContain(FP_A);
    expect(text).toContain(FP_B);
    expect(text).toContain('line 3 of /tmp/kh');
    expect(text.split('\n').length).toBeGreaterThan(5);
  });
});
