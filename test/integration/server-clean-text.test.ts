import { describe, expect, it } from 'vitest';
import { auditRows, eventually } from '../helpers/db-peek.js';
import { startServer } from '../helpers/server-fixture.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

describe('clean text for every client', () => {
  it('a lone surrogate from a JSON client reaches JSON clients as U+FFFD, and U+2028/U+2029 stay escaped', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.json('ron');
    const shon = await f.json('shon');
    // Exactly what a careless client writes: a JSON escape of a lone surrogate, raw line separators.
    shon.write('{"type":"say","text":"x\\ud800y","id":"a\\udfff"}\n');
    shon.write('{"type":"say","text":"one\u2028two\u2029three"}\n');
    await ron.waitForJson((m) => m.type === 'message', 5000, 1);
    await shon.waitForType('ack');
    const messages = ron.messages.filter((m) => m.type === 'message');
    expect(messages.map((m) => m.text)).toEqual(['x\ufffdy', 'one\u2028two\u2029three']);
    expect(shon.messages.find((m) => m.type === 'ack')).toMatchObject({ id: 'a\ufffd' });
    for (const client of [ron, shon]) {
      // Python's print or serde_json would fail on a surrogate escape or on invalid UTF-8; a raw U+2028 splits lines for some readers.
      expect(() => strictUtf8.decode(client.bytes)).not.toThrow();
      expect(client.text).not.toMatch(/\\ud[89a-f]/i);
      expect(client.text).not.toMatch(/[\u2028\u2029]/);
    }
  });

  it('a text client gets U+FFFD for the same message', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.text('ron');
    const shon = await f.json('shon');
    shon.write('{"type":"say","text":"x\\ud800y"}\n');
    await ron.waitForText('shon: x\ufffdy\n');
  });

  it('a username with an escape sequence is logged, fail2ban-lined and audited escaped, not as the name it imitates', async () => {
    const f = await startServer(['alice']);
    const client = await f.connect();
    client.write('al\x1b[31mice\nwrong\n');
    await client.waitForText('Login failed');
    await f.server.stdout.waitFor('Failed login for al\\x1b[31mice from 127.0.0.1\n');
    expect(f.server.stdout.text).not.toMatch(/Failed login for alice/);
    const row = await eventually(() => auditRows(f.dbFile, 'login').find((r) => r.outcome === 'failed'), 5000, 'the failed login row');
    expect(row.username).toBe('al\\x1b[31mice');
    expect(row.reason).toBe('invalid_name');
  });
});
