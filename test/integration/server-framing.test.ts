import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server-fixture.js';

describe('framing and sanitising over real sockets', () => {
  it('discards a 10 MB line with line_too_long, keeps the connection, and delivers the next line', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.json('ron');
    const shon = await f.json('shon');
    const big = Buffer.alloc(10 * 1024 * 1024, 'a');
    shon.write(Buffer.concat([Buffer.from('{"type":"say","text":"'), big, Buffer.from('"}\n')]));
    shon.sendJson({ type: 'say', text: 'after the big one', id: 'n' });
    expect(await shon.waitForType('error', 15_000)).toMatchObject({ code: 'line_too_long' });
    await shon.waitForType('ack', 15_000);
    expect((await ron.waitForType('message')).text).toBe('after the big one');
    expect(ron.messages.filter((m) => m.type === 'message')).toHaveLength(1);
    expect(shon.messages.filter((m) => m.type === 'error')).toHaveLength(1);
  });

  it('tells a text client the limit and accepts a line of exactly the limit', async () => {
    const f = await startServer(['shon', 'ron'], ['--max-line', '300']);
    const ron = await f.json('ron');
    const shon = await f.text('shon');
    shon.write(`${'b'.repeat(301)}\n${'c'.repeat(300)}\r\n`);
    await shon.waitForText('! Line too long (limit 300 bytes).\n');
    expect((await ron.waitForType('message')).text).toBe('c'.repeat(300));
  });

  it('replaces invalid UTF-8 with U+FFFD and carries Hebrew and emoji exactly, both modes', async () => {
    const f = await startServer(['shon', 'ron', 'itay']);
    const ron = await f.json('ron');
    const itay = await f.text('itay');
    const shon = await f.text('shon');
    await ron.waitForJson((m) => m.type === 'join' && m.user === 'shon');
    shon.write(Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0x20, 0xc3, 0x0a]));
    const hebrew = 'שלום עולם 👋🏽 café 日本';
    shon.write(`${hebrew}\n`);
    const messages = [await ron.waitForJson((m) => m.type === 'message'), await ron.waitForJson((m) => m.type === 'message', 5000, 1)];
    expect(messages.map((m) => m.text)).toEqual(['bad \uFFFD\uFFFD \uFFFD', hebrew]);
    await itay.waitForText(`shon: ${hebrew}\n`);
    expect(itay.bytes.includes(Buffer.from(`shon: ${hebrew}\n`, 'utf8'))).toBe(true);
  });

  it('keeps a multi-byte character split across two writes whole', async () => {
    const f = await startServer(['shon', 'ron']);
    const ron = await f.json('ron');
    const shon = await f.text('shon');
    const bytes = Buffer.from('אב\n', 'utf8');
    shon.write(bytes.subarray(0, 3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    shon.write(bytes.subarray(3));
    expect((await ron.waitForType('message')).text).toBe('אב');
  });

  it('removes terminal escape sequences and control characters, and drops lines left empty', async () => {
    const f = await startServer(['shon', 'ron', 'itay']);
    const ron = await f.text('ron');
    const itay = await f.json('itay');
    const shon = await f.json('shon');
    await itay.waitForJson((m) => m.type === 'join' && m.user === 'shon');
    shon.sendJson({ type: 'say', text: '\u001b[2J\u001b]0;pwned\u0007\u001b[31mred\u001b[0m\u0008\u009b1mplain\ttab' });
    shon.sendJson({ type: 'say', text: '\u001b[2J\u0007' });
    shon.sendJson({ type: 'say', text: 'last' });
    await ron.waitForText('shon: last\n');
    expect(ron.text).toContain('shon: redplain\ttab\n');
    expect(ron.bytes.includes(0x1b)).toBe(false);
    expect(ron.bytes.includes(0x07)).toBe(false);
    await itay.waitForJson((m) => m.type === 'message' && m.text === 'last');
    expect(itay.messages.filter((m) => m.type === 'message').map((m) => m.text)).toEqual(['redplain\ttab', 'last']);
  });
});
