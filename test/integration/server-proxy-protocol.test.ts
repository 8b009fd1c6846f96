import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { auditRows, eventually } from '../helpers/db-peek.js';
import { onCleanup, startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A v2 PROXY TCP4 header with one TLV, built by hand. */
function v2Header(source: string, sourcePort: number): Buffer {
  const tlv = Buffer.from([0x04, 0x00, 0x02, 0x68, 0x69]);
  const body = Buffer.alloc(12);
  Buffer.from(source.split('.').map(Number)).copy(body, 0);
  Buffer.from([127, 0, 0, 1]).copy(body, 4);
  body.writeUInt16BE(sourcePort, 8);
  body.writeUInt16BE(12345, 10);
  const head = Buffer.from([0x21, 0x11, 0, 0]);
  head.writeUInt16BE(body.length + tlv.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, body, tlv]);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(port: number): Promise<WireClient> {
  const client = await WireClient.connect(port);
  onCleanup(() => client.close());
  return client;
}

describe('PROXY protocol', () => {
  it('takes the real client address from a v1 header (JSON login) and a v2 header split across writes (text login)', async () => {
    const f = await startServer(['shon', 'ron'], ['--proxy-protocol']);
    const viaV1 = await connect(f.port);
    viaV1.write('PROXY TCP4 203.0.113.7 127.0.0.1 51000 12345\r\n{"type":"hello","proto":1}\n{"type":"login","username":"shon","password":"pw-shon"}\n');
    await viaV1.waitForType('login_ok');

    const viaV2 = await connect(f.port);
    const header = v2Header('198.51.100.23', 40001);
    viaV2.write(header.subarray(0, 7));
    await pause(50);
    viaV2.write(header.subarray(7, 20));
    await pause(50);
    viaV2.write(Buffer.concat([header.subarray(20), Buffer.from('ron\npw-ron\n')]));
    await viaV2.waitForText(/\* Commands: .*c\.exit/);

    const logins = await eventually(() => {
      const rows = auditRows(f.dbFile, 'login');
      return rows.length === 2 ? rows : undefined;
    });
    expect(logins.map((r) => [r.username, r.peer_address, r.outcome])).toEqual([
      ['shon', '203.0.113.7', 'ok'],
      ['ron', '198.51.100.23', 'ok'],
    ]);
    expect(f.server.stdout.text).toMatch(/info login user=shon peer=203\.0\.113\.7:51000 mode=json transport=plain /);
    expect(f.server.stdout.text).toMatch(/info connect peer=198\.51\.100\.23:40001 transport=plain via=127\.0\.0\.1:\d+ /);
    viaV1.sendJson({ type: 'quit' });
    const end = await eventually(() => auditRows(f.dbFile, 'session_end').find((r) => r.username === 'shon'));
    expect(end.peer_address).toBe('203.0.113.7');
  });

  it('shows the real address in the fail2ban line', async () => {
    const f = await startServer(['shon'], ['--proxy-protocol']);
    const client = await connect(f.port);
    client.write('PROXY TCP6 2001:db8::77 ::1 6000 12345\r\nshon\nwrong\n');
    await client.waitForText('! Login failed');
    expect(f.server.stdout.text).toMatch(/warn Failed login for shon from 2001:db8::77\n/);
  });

  it('refuses connections from outside --trusted-proxy, malformed headers and silence', async () => {
    const f = await startServer([], ['--proxy-protocol', '--trusted-proxy', '10.0.0.0/8']);
    const untrusted = await connect(f.port);
    untrusted.write('PROXY TCP4 1.2.3.4 127.0.0.1 1 2\r\n');
    await untrusted.waitForClose();
    expect(untrusted.text).toBe("! Connections are accepted only through this server's proxy.\n");
    await f.server.stdout.waitFor(/refused peer=127\.0\.0\.1:\d+ why=untrusted_proxy/);

    const g = await startServer([], ['--proxy-protocol']);
    const malformed = await connect(g.port);
    malformed.write('PROXY TCP4 1.2.3.999 127.0.0.1 1 2\r\n');
    await malformed.waitForClose();
    expect(malformed.text).toBe('! Bad PROXY protocol header. Goodbye.\n');
    await g.server.stdout.waitFor(/refused peer=127\.0\.0\.1:\d+ why=bad_proxy_header detail="ERR_PROXY_BAD_ADDRESS/);
    const plainUser = await connect(g.port);
    plainUser.write('shon\n');
    await plainUser.waitForClose();
    expect(plainUser.text).toBe('! Bad PROXY protocol header. Goodbye.\n');
    const silent = await connect(g.port);
    await silent.waitForClose(6000);
    expect(silent.text).toBe('! No PROXY protocol header. Goodbye.\n');
  });

  it('applies --max-per-address to the real address, not the proxy', async () => {
    const f = await startServer([], ['--proxy-protocol', '--max-per-address', '1']);
    const first = await connect(f.port);
    first.write('PROXY TCP4 198.51.100.1 127.0.0.1 1000 12345\r\n');
    await first.waitForText('Username: ');
    const second = await connect(f.port);
    second.write('PROXY TCP4 198.51.100.1 127.0.0.1 1001 12345\r\n');
    await second.waitForClose();
    expect(second.text).toBe('! Too many connections from your address. Try again later.\n');
    expect(f.server.stdout.text).toMatch(/refused peer=198\.51\.100\.1:1001 why=max_per_address/);
    const other = await connect(f.port);
    other.write('PROXY TCP4 198.51.100.2 127.0.0.1 1002 12345\r\n');
    await other.waitForText('Username: ');
  });

  it('reads the PROXY header before TLS', async () => {
    const f = await startServer(['shon'], ['--proxy-protocol', '--tls-self-signed', '--require-tls']);
    const socket = net.connect({ port: f.port, host: '127.0.0.1' });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('PROXY TCP4 192.0.2.99 127.0.0.1 7000 12345\r\n');
    const client = await WireClient.connectTls(f.port, { socket });
    onCleanup(() => client.close());
    expect(await client.login('shon', 'pw-shon')).toMatchObject({ type: 'login_ok' });
    expect(f.server.stdout.text).toMatch(/info login user=shon peer=192\.0\.2\.99:7000 mode=json transport=tls /);
  });
});
