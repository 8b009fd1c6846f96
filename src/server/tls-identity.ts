import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { createSecureContext, type SecureContext } from 'node:tls';

/** The server's TLS certificate, loaded and checked once at start. */
export interface TlsIdentity {
  readonly secureContext: SecureContext;
  /** SHA-256 of the certificate, `AB:CD:...`, as clients pin it. */
  readonly fingerprint: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The self-signed certificate was made by this start. */
  readonly created: boolean;
}

/** A certificate or key that cannot be used; the message is one line naming the file. */
export class TlsSetupError extends Error {
  override readonly name = 'TlsSetupError';
  readonly code = 'ERR_TLS_SETUP';
}

/** Node's defaults otherwise: its cipher list, no renegotiation beyond its limits. */
export const TLS_MIN_VERSION = 'TLSv1.2';
const SELF_SIGNED_YEARS = 10;

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a folder' : (error as Error).message;
    throw new TlsSetupError(`cannot read the TLS ${what} ${file}: ${why}`);
  }
}

/** Loads and checks a PEM certificate (chain) and its private key. */
export function loadTlsIdentity(certFile: string, keyFile: string, created = false): TlsIdentity {
  const certPem = readPem(certFile, 'certificate');
  const keyPem = readPem(keyFile, 'key');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new TlsSetupError(`the TLS certificate ${certFile} is not a PEM certificate`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new TlsSetupError(`the TLS key ${keyFile} is not a PEM private key (or it is encrypted)`);
  }
  if (!cert.checkPrivateKey(key)) throw new TlsSetupError(`the TLS key ${keyFile} does not belong to the certificate ${certFile}`);
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({ cert: certPem, key: keyPem, minVersion: TLS_MIN_VERSION });
  } catch (error) {
    throw new TlsSetupError(`cannot use the TLS certificate ${certFile}: ${(error as Error).message}`);
  }
  return { secureContext, fingerprint: cert.fingerprint256, certFile, keyFile, created };
}

/**
 * Reads the certificate and key of `current` again from their files (for
 * SIGHUP: a renewed certificate, or self-signed files replaced by hand),
 * checked as at start. Throws TlsSetupError, and the caller keeps `current`.
 */
export function reloadTlsIdentity(current: TlsIdentity): TlsIdentity {
  return loadTlsIdentity(current.certFile, current.keyFile);
}

/** Where `--tls-self-signed` keeps its certificate and key: next to the database. */
export function selfSignedPaths(dbFile: string): { certFile: string; keyFile: string } {
  return { certFile: `${dbFile}.tls-cert.pem`, keyFile: `${dbFile}.tls-key.pem` };
}

/**
 * Loads the self-signed certificate kept next to the database, or makes one
 * (EC P-256, SHA-256, valid 10 years; CN the host name, SAN the host name,
 * localhost, 127.0.0.1 and ::1) with the key readable by the owner only.
 */
export async function selfSignedIdentity(dbFile: string, host: string = osHostname()): Promise<TlsIdentity> {
  const { certFile, keyFile } = selfSignedPaths(dbFile);
  const haveCert = existsSync(certFile);
  const haveKey = existsSync(keyFile);
  if (haveCert && haveKey) return loadTlsIdentity(certFile, keyFile);
  if (haveCert !== haveKey) {
    throw new TlsSetupError(`found ${haveCert ? certFile : keyFile} without ${haveCert ? keyFile : certFile}: restore it, or remove both to make a new certificate`);
  }
  const name = /^[A-Za-z0-9.-]{1,253}$/.test(host) ? host : 'localhost';
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + SELF_SIGNED_YEARS);
  const altNames = [...new Set([name, 'localhost'])].map((value) => ({ type: 2 as const, value }));
  // Loaded only to make a certificate: the library and its dependencies add about 14 MB to a server's RSS.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...altNames, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  try {
    // 'wx': never overwrite a file another process made meanwhile.
    writeFileSync(keyFile, pems.private, { mode: 0o600, flag: 'wx' });
    writeFileSync(certFile, pems.cert, { mode: 0o644, flag: 'wx' });
  } catch (error) {
    throw new TlsSetupError(`cannot write the self-signed certificate next to the database (${certFile}): ${(error as Error).message}`);
  }
  return loadTlsIdentity(certFile, keyFile, true);
}
