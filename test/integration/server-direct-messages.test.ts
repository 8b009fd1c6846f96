import { describe, expect, it } from 'vitest';
import { eventually, queryDb } from '../helpers/db-peek.js';
import { assertFreshBuild } from '../helpers/run-cli.js';
import { startServer } from '../helpers/server-fixture.js';

// PROTOCOL.md "Direct messages", over real sockets against the built server.

describe('direct messages', { timeout: 30_000 }, () => {
  assertFreshBuild(['src/server', 'src/protocol']);

  it('JSON: the recipient gets dm (from, text, ts, id), the sender its ack; nobody else sees it and it is never stored', async () => {
    const f = await startServer(['shon', 'ron', 'ada']);
    const shon = await f.json('shon');
    const ron = await f.json('ron');
    const ada = await f.json('ada');
    shon.sendJson({ type: 'dm', to: 'RON', text: 'psst', id: 'd1' });
    expect(await shon.waitForJson((m) => m.type === 'ack' || m.type === 'error')).toEqual({ type: 'ack', id: 'd1' });
    const dm = await ron.waitForType('dm');
    expect(dm).toEqual({ type: 'dm', from: 'shon', text: 'psst', ts: expect.any(String), id: expect.stringMatching(/^[0-9a-z]{12}-[0-9a-z]{16}$/) });
    // A room message after it reaches ada; the dm never did.
    shon.sendJson({ type: 'say', text: 'public', id: 's1' });
    await ada.waitForJson((m) => m.type === 'message' && m.text === 'public');
    expect(ada.messages.some((m) => m.type === 'dm' || JSON.stringify(m).includes('psst'))).toBe(false);
    expect(shon.messages.some((m) => m.type === 'dm')).toBe(false);
    await eventually(() => queryDb(f.dbFile, 'select text from messages').length === 1, 3000, 'the room message stored');
    expect(queryDb(f.dbFile, 'select text from messages')).toEqual([{ text: 'public' }]);
  });

  it('not_online: the same answer, in about the same time, for a name nobody has and for a user who is not logged in', async () => {
    const f = await startServer(['shon', 'ron', 'offline'], ['--rate-limit', '0']);
    const shon = await f.json('shon');
    await f.json('ron');
    const ask = async (to: string, id: string) => {
      const before = shon.messages.length;
      const started = performance.now();
      shon.sendJson({ type: 'dm', to, text: 'hi', id });
      const reply = await shon.waitForJson((m) => (m.type === 'ack' || m.type === 'error') && shon.messages.indexOf(m) >= before);
      return { reply, ms: performance.now() - started };
    };
    const unknown = await ask('ghost', 'u');
    const offline = await ask('offline', 'o');
    expect(unknown.reply).toEqual({ type: 'error', code: 'not_online', message: 'ghost is not online.' });
    expect(offline.reply).toEqual({ type: 'error', code: 'not_online', message: 'offline is not online.' });
    // Both are one lookup in memory: over 20 rounds each, the medians differ by far less than a store round trip would.
    const times = { unknown: [] as number[], offline: [] as number[] };
    for (let i = 0; i < 20; i++) {
      times.unknown.push((await ask('ghost', `u${i}`)).ms);
      times.offline.push((await ask('offline', `o${i}`)).ms);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    expect(Math.abs(median(times.unknown) - median(times.offline))).toBeLessThan(20);
  });

  it('bad_request for oneself, a missing to or an empty text; not_logged_in before login', async () => {
    const f = await startServer(['shon', 'ron']);
    const early = await f.connect();
    early.sendJson({ type: 'hello', proto: 1 });
    early.sendJson({ type: 'dm', to: 'ron', text: 'x' });
    expect(await early.waitForType('error')).toMatchObject({ code: 'not_logged_in' });
    const shon = await f.json('shon');
    await f.json('ron');
    for (const dm of [{ to: 'SHON', text: 'me' }, { text: 'nobody' }, { to: 'ron', text: '\x1b[31m' }]) {
      const before = shon.messages.length;
      shon.sendJson({ type: 'dm', ...dm });
      const reply = await shon.waitForJson((m) => m.type === 'error' && shon.messages.indexOf(m) >= before);
      expect(reply.code, JSON.stringify(dm)).toBe('bad_request');
    }
  });

  it('text mode: c.msg delivers [private] shon: text, sanitised; the sender sees nothing on success and one line otherwise; c.help names c.msg', async () => {
    const f = await startServer(['shon', 'ron', 'ada']);
    const shon = await f.text('shon');
    const ron = await f.text('ron');
    const ada = await f.json('ada');
    shon.write('c.msg ron hello \x1b[2J\x1b]0;pwned\x07there\x9b31m!\n');
    await ron.waitForText('[private] shon: hello there!\n');
    expect(ron.text).not.toContain('\x1b');
    shon.write('c.msg nobody hi\n');
    await shon.waitForText('! nobody is not online.\n');
    shon.write('c.msg ron\n');
    await shon.waitForText('! Usage: c.msg <user> <text>\n');
    shon.write('c.help\n');
    await shon.waitForText(/\* Commands: c\.who \(who is online\), c\.msg <user> <text> \(a private message\), c\.help/);
    // Nothing but those answers went to shon, and nothing at all to ada.
    const afterWelcome = shon.text.slice(shon.text.indexOf('(leave).\n') + '(leave).\n'.length);
    expect(afterWelcome.split('\n')[0]).toBe('* ron has joined the chat.');
    expect(afterWelcome).not.toContain('private');
    expect(ada.messages.filter((m) => m.type !== 'join' && m.type !== 'hello' && m.type !== 'login_ok' && m.type !== 'history_end')).toEqual([]);
  });

  it('counts direct messages against the same rate limit as room messages', async () => {
    const f = await startServer(['shon', 'ron'], ['--rate-burst', '3', '--rate-limit', '1']);
    const shon = await f.json('shon');
    const ron = await f.json('ron');
    shon.sendJson({ type: 'say', text: 'one', id: '1' });
    shon.sendJson({ type: 'dm', to: 'ron', text: 'two', id: '2' });
    shon.sendJson({ type: 'dm', to: 'ron', text: 'three', id: '3' });
    shon.sendJson({ type: 'dm', to: 'ron', text: 'four', id: '4' });
    const replies = await Promise.all([0, 1, 2, 3].map((nth) => shon.waitForJson((m) => m.type === 'ack' || m.type === 'error', 5000, nth)));
    expect(replies.map((m) => (m.type === 'ack' ? m.id : m.code))).toEqual(['1', '2', '3', 'rate_limited']);
    await ron.waitForJson((m) => m.type === 'dm' && m.text === 'three');
    expect(ron.messages.filter((m) => m.type === 'dm').map((m) => m.text)).toEqual(['two', 'three']);
  });
});
