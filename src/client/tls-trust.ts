import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { formatAddress, type ChatAddress } from './address.js';
import { ConnectError, type ServerCertificateFacts, type TlsConnectOptions } from './chat-client.js';
import { addKnownHost, changedIdentityMessage, decideTrust, findKnownHost, readKnownHosts, type KnownHost } from './known-hosts.js';
import type { ClientTlsOptions } from './options.js';

/** Where the trust decision may talk to the user. */
export interface TrustIo {
  readonly stderr: Writable;
  /** Asks a yes/no question on the terminal; undefined when there is no terminal. */
  readonly confirm: ((question: string) => Promise<boolean>) | undefined;
}

export const INSECURE_WARNING =
  "warning: --insecure: the server's certificate is not checked, so anyone on the path can pose as the server and read your password and the chat.";

/** A `--ca` file that cannot be used. */
export class CaFileError extends Error {
  override readonly name = 'CaFileError';
  readonly code = 'ERR_CHAT_CA_FILE';
}

function readCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CaFileError(`cannot read --ca ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new CaFileError(`--ca ${file} is not a PEM certificate`);
  }
  return pem;
}

/**
 * The TLS half of connecting: the CAs to trust, and the check run on the
 * server's certificate before anything is sent: a CA's word, else the pinned
 * fingerprint in known_hosts, else trust on first use (asked on a terminal,
 * `--trust-new-host` without one). Throws CaFileError.
 */
export function tlsConnectOptions(address: ChatAddress, tls: ClientTlsOptions, io: TrustIo): TlsConnectOptions {
  const ca = tls.caFile === undefined ? undefined : readCa(tls.caFile);
  const where = formatAddress(address);
  const file = tls.knownHostsFile;
  const say = (text: string): void => void io.stderr.write(`chat-client: ${text}\n`);
  const untrusted = (message: string): ConnectError => new ConnectError('untrusted', message);

  const verify = async (facts: ServerCertificateFacts): Promise<ConnectError | undefined> => {
    if (tls.insecure) {
      say(INSECURE_WARNING);
      return undefined;
    }
    let pinned: KnownHost | undefined;
    if (!facts.authorized) {
      try {
        pinned = findKnownHost(readKnownHosts(file), where);
      } catch (error) {
        return untrusted(`cannot read the known hosts file ${file}: ${(error as Error).message}`);
      }
    }
    const decision = decideTrust({ ...facts, pinned, insecure: false });
    switch (decision.kind) {
      case 'trusted':
        return undefined;
      case 'changed':
        return untrusted(`refusing to connect to ${where}: its certificate has changed!\n${changedIdentityMessage(where, decision.pinned, decision.fingerprint, file)}`);
      case 'invalid':
        return untrusted(
          `refusing to connect to ${where}: its certificate failed verification (${decision.reason}). If it comes from your own CA, pass that CA with --ca FILE.`,
        );
      case 'unknown':
        break;
    }
    const fingerprint = decision.fingerprint;
    const remember = (): ConnectError | undefined => {
      try {
        addKnownHost(file, where, fingerprint);
      } catch (error) {
        return untrusted(`cannot write the known hosts file ${file}: ${(error as Error).message}`);
      }
      return undefined;
    };
    if (io.confirm !== undefined) {
      io.stderr.write(
        [
          `The server ${where} shows a certificate that no certificate authority vouches for (self-signed).`,
          'Its SHA-256 fingerprint is:',
          `  ${fingerprint}`,
          'Compare it with the fingerprint chat-server printed at start (ask its administrator).',
          '',
        ].join('\n'),
      );
      if (!(await io.confirm(`Trust it and remember it in ${file}? (yes/no): `))) return untrusted(`not connecting to ${where}: its certificate was not trusted. Nothing was sent.`);
      return remember();
    }
    if (tls.trustNewHost) {
      const failed = remember();
      if (failed === undefined) say(`trusting ${where} on first use: certificate SHA-256 ${fingerprint}, remembered in ${file}`);
      return failed;
    }
    return untrusted(
      [
        `refusing to connect to ${where}: its certificate is self-signed and not known yet, and there is no terminal to confirm it.`,
        `Its SHA-256 fingerprint is ${fingerprint}.`,
        'If it matches what chat-server printed at start, run chat-client once in a terminal to confirm it, add --trust-new-host,',
        `or add this line to ${file}:`,
        `  ${where} ${fingerprint}`,
      ].join('\n'),
    );
  };
  return ca === undefined ? { verify } : { ca, verify };
}
