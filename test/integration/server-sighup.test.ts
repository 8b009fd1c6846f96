import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { keptDir, onCleanup, startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

async function makeCert(dir: string, cn: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], { keyType: 'ec', algorithm: 'sha256' });
  const cert = join(dir, `${cn}-cert.pem`);
  const key = join(dir, `${cn}-key.pem`);
  writeFileSync(cert, pems.cert);
  writeFileSync(key, pems.private, { mode: 0o600 });
  return { cert, key };
}

async function tlsFingerprint(port: number): Promise<string> {
  const client = await WireClient.connectTls(port);
  const fingerprint = client.fingerprint;
  client.close();
  return fingerprint;
}

async function tlsLogin(port: number, name: string): Promise<WireClient> {
  const client = await WireClient.connectTls(port);
  onCleanup(() => client.close());
  expect(await client.login(name, `pw-${name}`)).toMatchObject({ type: 'login_ok' });
  return client;
}

describe('SIGHUP (issue 10.5)', () => {
  it('reloads the TLS certificate without dropping anyone, and keeps the old one when the new one is bad', async () => {
    const dir = keptDir();
    const first = await makeCert(dir, 'first');
    const second = await makeCert(dir, 'second');
    const live = { cert: join(dir, 'live-cert.pem'), key: join(dir, 'live-key.pem') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const f = await startServer(['shon', 'ron'], ['--tls-cert', live.cert, '--tls-key', live.key]);
    const oldFingerprint = await tlsFingerprint(f.port);
    const shon = await tlsLogin(f.port, 'shon');
    const ron = await f.text('ron');

    // A renewed certificate: replaced on disk, then SIGHUP.
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    f.server.kill('SIGHUP');
    const [, newFingerprint] = await f.server.stdout.waitFor(/info tls_reloaded signal=SIGHUP cert=\S+ fingerprint=(\S+) previous=(\S+)\n/);
    expect(newFingerprint).not.toBe(oldFingerprint);
    expect(f.server.stdout.text).toContain(`previous=${oldFingerprint}`);
    expect(await tlsFingerprint(f.port)).toBe(newFingerprint);
    // Everyone connected across the reload is still there, on either transport.
    shon.sendJson({ type: 'say', text: 'still here' });
    await ron.waitForText('shon: still here\n');
    ron.write('me too\n');
    expect(await shon.waitForJson((m) => m.type === 'message')).toMatchObject({ from: 'ron', text: 'me too' });

    // A broken certificate: logged, and the one in use is kept.
    writeFileSync(live.cert, 'not a certificate\n');
    f.server.kill('SIGHUP');
    await f.server.stdout.waitFor(`error tls_reload_failed signal=SIGHUP error="the TLS certificate ${live.cert} is not a PEM certificate" kept=${newFingerprint}\n`);
    expect(await tlsFingerprint(f.port)).toBe(newFingerprint);
    // A key that does not match the certificate is refused as well.
    copyFileSync(first.cert, live.cert);
    f.server.kill('SIGHUP');
    await f.server.stdout.waitFor(/error tls_reload_failed signal=SIGHUP error="the TLS key \S+ does not belong to the certificate \S+" kept=/);
    expect(await tlsFingerprint(f.port)).toBe(newFingerprint);
    expect(shon.closed || ron.closed).toBe(false);
    expect(await f.server.stop()).toBe(0);
  });

  it('self-signed mode re-reads its files on SIGHUP', async () => {
    const f = await startServer([], ['--tls-self-signed']);
    const before = await tlsFingerprint(f.port);
    const other = await makeCert(keptDir(), 'other');
    copyFileSync(other.cert, `${f.dbFile}.tls-cert.pem`);
    copyFileSync(other.key, `${f.dbFile}.tls-key.pem`);
    f.server.kill('SIGHUP');
    const [, after] = await f.server.stdout.waitFor(/info tls_reloaded signal=SIGHUP cert=\S+ fingerprint=(\S+)/);
    expect(after).not.toBe(before);
    expect(await tlsFingerprint(f.port)).toBe(after);
  });

  it('without TLS, SIGHUP no longer kills the server: it says there is nothing to reload', async () => {
    const f = await startServer(['shon', 'ron']);
    const shon = await f.text('shon');
    const ron = await f.text('ron');
    f.server.kill('SIGHUP');
    await f.server.stdout.waitFor('info reload signal=SIGHUP tls=none\n');
    shon.write('after the hangup\n');
    await ron.waitForText('shon: after the hangup\n');
    expect(f.server.child.exitCode).toBeNull();
    expect(await f.server.stop()).toBe(0);
  });
});
