import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { CLIENT_MAIN, OutputCollector, SERVER_MAIN, spawnNode, waitForExit } from '../helpers/chat-server-process.js';
import { keptDir, onCleanup, startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

const FINGERPRINT_LINE = /TLS certificate SHA-256 fingerprint: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\n/;

async function fingerprintOf(server: { stdout: OutputCollector }): Promise<string> {
  return (await server.stdout.waitFor(FINGERPRINT_LINE))[1]!;
}

async function tlsLogin(port: number, name: string): Promise<WireClient> {
  const client = await WireClient.connectTls(port);
  onCleanup(() => client.close());
  expect(await client.login(name, `pw-${name}`)).toMatchObject({ type: 'login_ok' });
  return client;
}

/** Runs the built chat-client with piped stdin; resolves with its exit code and output. */
async function runClient(args: readonly string[], env: Record<string, string>, input: string) {
  const child = spawnNode(CLIENT_MAIN, args, env);
  const stdout = new OutputCollector(child.stdout!);
  const stderr = new OutputCollector(child.stderr!);
  child.stdin!.end(input);
  const code = await waitForExit(child, 15_000);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function makeCert(dir: string, cn: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  const cert = join(dir, `${cn}-cert.pem`);
  const key = join(dir, `${cn}-key.pem`);
  writeFileSync(cert, pems.cert);
  writeFileSync(key, pems.private, { mode: 0o600 });
  return { cert, key };
}

describe('TLS on the chat port', () => {
  it('serves TLS and plain clients on one port at once; chat-client pins the self-signed certificate', async () => {
    const f = await startServer(['shon', 'ron', 'itay'], ['--tls-self-signed']);
    const fingerprint = await fingerprintOf(f.server);
    expect(statSync(`${f.dbFile}.tls-key.pem`).mode & 0o777).toBe(0o600);

    const ron = await tlsLogin(f.port, 'ron');
    expect(ron.fingerprint).toBe(fingerprint);
    const itay = await f.json('itay');
    const knownHosts = join(keptDir(), 'known_hosts');

    const result = await runClient([`tls://127.0.0.1:${f.port}`, '--user', 'shon', '--trust-new-host'], { CHAT_PASSWORD: 'pw-shon', CHAT_KNOWN_HOSTS: knownHosts }, 'hello over tls\n');
    expect(result.stderr, f.server.stdout.text).toContain(`trusting 127.0.0.1:${f.port} on first use`);
    expect(result.code).toBe(0);
    expect(await ron.waitForJson((m) => m.type === 'message')).toMatchObject({ from: 'shon', text: 'hello over tls' });
    expect(await itay.waitForJson((m) => m.type === 'message')).toMatchObject({ from: 'shon', text: 'hello over tls' });
    expect(readFileSync(knownHosts, 'utf8')).toBe(`127.0.0.1:${f.port} ${fingerprint}\n`);
    expect(f.server.stdout.text).toMatch(/info login user=shon peer=127\.0\.0\.1:\d+ mode=json transport=tls /);
    expect(f.server.stdout.text).toMatch(/info login user=itay peer=127\.0\.0\.1:\d+ mode=json transport=plain /);

    // Pinned now: no flag needed.
    const again = await runClient([`127.0.0.1:${f.port}`, '--tls', '--user', 'shon'], { CHAT_PASSWORD: 'pw-shon', CHAT_KNOWN_HOSTS: knownHosts }, 'second\n');
    expect(again.code).toBe(0);
  });

  it('refuses a new self-signed server without a terminal or --trust-new-host', async () => {
    const f = await startServer(['shon'], ['--tls-self-signed']);
    const fingerprint = await fingerprintOf(f.server);
    const result = await runClient([`tls://127.0.0.1:${f.port}`, '--user', 'shon'], { CHAT_PASSWORD: 'pw-shon', CHAT_KNOWN_HOSTS: join(keptDir(), 'kh') }, 'x\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('self-signed and not known yet');
    expect(result.stderr).toContain(fingerprint);
    expect(f.server.stdout.text).not.toMatch(/info login/);
  });

  it('keeps and reuses its self-signed certificate; a client refuses a changed one loudly', async () => {
    const dir = keptDir();
    const dbFile = join(dir, 'chat.db');
    const first = await startServer(['shon'], ['--tls-self-signed'], {}, { dbFile });
    const fingerprint = await fingerprintOf(first.server);
    expect(first.server.stdout.text).toContain('made a self-signed certificate');
    await first.server.stop();
    const second = await startServer([], ['--tls-self-signed'], {}, { dbFile });
    expect(await fingerprintOf(second.server)).toBe(fingerprint);
    expect(second.server.stdout.text).not.toContain('made a self-signed certificate');

    const knownHosts = join(dir, 'known_hosts');
    const wrong = fingerprint.startsWith('00') ? `11${fingerprint.slice(2)}` : `00${fingerprint.slice(2)}`;
    writeFileSync(knownHosts, `# mine\n127.0.0.1:${second.port} ${wrong}\n`);
    const result = await runClient([`tls://127.0.0.1:${second.port}`, '--user', 'shon'], { CHAT_PASSWORD: 'pw-shon', CHAT_KNOWN_HOSTS: knownHosts }, 'x\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('IDENTITY HAS CHANGED');
    expect(result.stderr).toContain(`Trusted fingerprint (SHA-256):   ${wrong}`);
    expect(result.stderr).toContain(`Presented fingerprint (SHA-256): ${fingerprint}`);
    expect(result.stderr).toContain(`line 2 of ${knownHosts}`);
    expect(second.server.stdout.text).not.toMatch(/info login/);
  }, 40_000);

  it('answers a plain client with one readable line under --require-tls', async () => {
    const f = await startServer(['shon'], ['--tls-self-signed', '--require-tls']);
    const silent = await f.connect();
    const eager = await f.connect();
    eager.write('{"type":"hello","proto":1}\n');
    await silent.waitForClose();
    await eager.waitForClose();
    expect(silent.text).toBe('! This server requires TLS: connect with chat-client --tls.\n');
    expect(eager.text).toBe('! This server requires TLS: connect with chat-client --tls.\n');
    await f.server.stdout.waitFor(/refused peer=127\.0\.0\.1:\d+ why=tls_required/);
    // A plain chat-client says what the server said.
    const result = await runClient([`127.0.0.1:${f.port}`, '--user', 'shon'], { CHAT_PASSWORD: 'pw-shon' }, 'x\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('This server requires TLS');
    // TLS still works.
    await tlsLogin(f.port, 'shon');
  });

  it('serves a certificate given with --tls-cert and --tls-key; chat-client verifies it with --ca', async () => {
    const dir = keptDir();
    const { cert, key } = await makeCert(dir, 'given');
    const f = await startServer(['shon', 'ron'], ['--tls-cert', cert, '--tls-key', key]);
    const fingerprint = await fingerprintOf(f.server);
    const ron = await tlsLogin(f.port, 'ron');
    expect(ron.fingerprint).toBe(fingerprint);
    const knownHosts = join(dir, 'kh');
    const result = await runClient([`tls://localhost:${f.port}`, '--ca', cert, '--user', 'shon'], { CHAT_PASSWORD: 'pw-shon', CHAT_KNOWN_HOSTS: knownHosts }, 'verified\n');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await ron.waitForJson((m) => m.type === 'message')).toMatchObject({ text: 'verified' });
    // Verified by the CA: nothing pinned.
    expect(() => readFileSync(knownHosts)).toThrow();
  });

  it('tells the --insecure user what it gives up', async () => {
    const f = await startServer(['shon'], ['--tls-self-signed']);
    const result = await runClient([`tls://127.0.0.1:${f.port}`, '--insecure', '--user', 'shon'], { CHAT_PASSWORD: 'pw-shon', CHAT_KNOWN_HOSTS: join(keptDir(), 'kh') }, 'x\n');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^chat-client: warning: --insecure: .*read your password and the chat\.\n$/);
  });
});

describe('TLS start-up errors', () => {
  const start = async (args: string[]) => {
    const dir = keptDir();
    const child = spawnNode(SERVER_MAIN, ['--host', '127.0.0.1', '--port', '0', '--db', join(dir, 'chat.db'), ...args]);
    child.stdin!.end();
    const stderr = new OutputCollector(child.stderr!);
    const code = await waitForExit(child, 10_000);
    return { code, stderr: stderr.text, dir };
  };

  it('a certificate file that is not a certificate: one clear line, exit 2', async () => {
    const dir = keptDir();
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, 'not a certificate\n');
    const { key } = await makeCert(dir, 'k');
    const result = await start(['--tls-cert', bad, '--tls-key', key]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`chat-server: the TLS certificate ${bad} is not a PEM certificate\n`);
  });

  it('a missing file, a key of another certificate, a cert without key', async () => {
    const dir = keptDir();
    const a = await makeCert(dir, 'a');
    const b = await makeCert(dir, 'b');
    const missing = await start(['--tls-cert', join(dir, 'nope.pem'), '--tls-key', a.key]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^chat-server: cannot read the TLS certificate .*nope\.pem: no such file\n$/);
    const mismatch = await start(['--tls-cert', a.cert, '--tls-key', b.key]);
    expect(mismatch.stderr).toMatch(/^chat-server: the TLS key .* does not belong to the certificate .*\n$/);
    const alone = await start(['--tls-cert', a.cert, '--require-tls', '--trusted-proxy', 'nonsense']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/^chat-server: invalid configuration: .*--trusted-proxy "nonsense".*--tls-cert and --tls-key go together.*\n$/);
  });
});
