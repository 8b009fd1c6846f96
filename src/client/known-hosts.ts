import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Pinned server certificates, like SSH's known_hosts: one line per server,
 * `HOST:PORT FINGERPRINT` (SHA-256, `AB:CD:...`); `#` starts a comment.
 */
export interface KnownHost {
  readonly hostPort: string;
  readonly fingerprint: string;
  /** 1-based, for "remove line N" advice. */
  readonly line: number;
}

export const KNOWN_HOSTS_ENV = 'CHAT_KNOWN_HOSTS';
const FINGERPRINT = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;

/** `$CHAT_KNOWN_HOSTS`, else `$XDG_CONFIG_HOME/chat-client/known_hosts`, else `~/.config/chat-client/known_hosts`. */
export function knownHostsPath(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const override = env[KNOWN_HOSTS_ENV];
  if (override !== undefined && override !== '') return override;
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(home, '.config');
  return join(base, 'chat-client', 'known_hosts');
}

/** Parses the file's text; lines that are not `HOST:PORT FINGERPRINT` are skipped. */
export function parseKnownHosts(text: string): KnownHost[] {
  const hosts: KnownHost[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [hostPort, fingerprint, ...extra] = line.split(/\s+/);
    if (hostPort === undefined || fingerprint === undefined || extra.length > 0) return;
    const normalised = fingerprint.toUpperCase();
    if (!FINGERPRINT.test(normalised)) return;
    hosts.push({ hostPort: hostPort.toLowerCase(), fingerprint: normalised, line: index + 1 });
  });
  return hosts;
}

/** The entry for `hostPort` (the first, if the file has several). */
export function findKnownHost(hosts: readonly KnownHost[], hostPort: string): KnownHost | undefined {
  return hosts.find((h) => h.hostPort === hostPort.toLowerCase());
}

export function formatKnownHost(hostPort: string, fingerprint: string): string {
  return `${hostPort.toLowerCase()} ${fingerprint.toUpperCase()}\n`;
}

/** Reads the file; a missing file is an empty list. */
export function readKnownHosts(file: string): KnownHost[] {
  try {
    return parseKnownHosts(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Appends one entry, making the folder (owner only) if needed. */
export function addKnownHost(file: string, hostPort: string, fingerprint: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, formatKnownHost(hostPort, fingerprint), { mode: 0o600 });
}

/** Why a TLS server is or is not trusted, decided from what the handshake showed. */
export type TrustDecision =
  | { readonly kind: 'trusted'; readonly by: 'ca' | 'pin' | 'insecure' }
  /** Not vouched for by any authority and never seen: ask (or apply the non-interactive rule). */
  | { readonly kind: 'unknown'; readonly fingerprint: string }
  /** Pinned, but the server now shows another certificate. */
  | { readonly kind: 'changed'; readonly pinned: KnownHost; readonly fingerprint: string }
  /** The certificate failed verification for a reason pinning does not cover (expired, wrong name...). */
  | { readonly kind: 'invalid'; readonly reason: string };

/** Verification failures that mean "no authority vouches for this certificate": what a self-signed server gives. */
const PINNABLE = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

export interface HandshakeFacts {
  /** The chain and host name verified against the CAs. */
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
  readonly fingerprint: string;
  readonly pinned: KnownHost | undefined;
  readonly insecure: boolean;
}

/**
 * A certificate a CA vouches for is trusted (pins are not consulted); else a
 * pinned fingerprint must match exactly; else a self-signed or unknown-issuer
 * certificate is new, and anything else is refused.
 */
export function decideTrust(facts: HandshakeFacts): TrustDecision {
  if (facts.insecure) return { kind: 'trusted', by: 'insecure' };
  if (facts.authorized) return { kind: 'trusted', by: 'ca' };
  const fingerprint = facts.fingerprint.toUpperCase();
  if (facts.pinned !== undefined) {
    return facts.pinned.fingerprint === fingerprint ? { kind: 'trusted', by: 'pin' } : { kind: 'changed', pinned: facts.pinned, fingerprint };
  }
  if (facts.authorizationError !== undefined && PINNABLE.has(facts.authorizationError)) return { kind: 'unknown', fingerprint };
  return { kind: 'invalid', reason: facts.authorizationError ?? 'certificate not verified' };
}

/** The loud refusal for a changed certificate, one string of several lines. */
export function changedIdentityMessage(where: string, pinned: KnownHost, fingerprint: string, file: string): string {
  const bar = '@'.repeat(64);
  return [
    bar,
    `${"@    WARNING: THE CHAT SERVER'S IDENTITY HAS CHANGED!".padEnd(bar.length - 1)}@`,
    bar,
    `The TLS certificate of ${where} is not the one you trusted before.`,
    'Someone may be intercepting this connection (a machine-in-the-middle attack),',
    'or the server\'s certificate was replaced (for instance a new --tls-self-signed one).',
    `Trusted fingerprint (SHA-256):   ${pinned.fingerprint}`,
    `Presented fingerprint (SHA-256): ${fingerprint}`,
    'Nothing was sent: no password, no message.',
    'If the server\'s administrator confirms the new fingerprint, remove the old line',
    `  ${pinned.hostPort} ${pinned.fingerprint}`,
    `(line ${pinned.line} of ${file}) and connect again.`,
  ].join('\n');
}
