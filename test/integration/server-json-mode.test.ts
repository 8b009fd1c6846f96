import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

describe('JSON mode', () => {
  it('answers an immediate hello with pure JSON: no greeting text at all', async () => {
    const f = await startServer(['shon', 'ron']);
    await f.text('ron');
    const client = await f.connect();
    client.sendJson({ type: 'hello', proto: 1, client: 'test' });
    client.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
    const ok = await client.waitForType('login_ok');
    expect(ok).toMatchObject({ username: 'shon', users: ['ron'] });
    expect(String(ok.help)).toContain('c.exit');
    for (const line of client.text.split('\n').slice(0, -1)) expect(line.startsWith('{')).toBe(true);
    expect(client.messages.map((m) => m.type)).toEqual(['hello', 'login_ok', 'history_end']);
  });

  it('reports failures with reason and attempts left, then bye too_many_attempts', async () => {
    const f = await startServer(['shon']);
    const client = await f.connect();
    client.sendJson({ type: 'hello', proto: 1 });
    client.sendJson({ type: 'login', username: 'shon', password: 'nope' });
    client.sendJson({ type: 'login', username: 'x'.repeat(40), password: 'nope' });
    client.sendJson({ type: 'login', username: "'; drop table users; --", password: 'nope' });
    await client.waitForClose();
    expect(client.messages.slice(1)).toEqual([
      { type: 'login_failed', reason: 'invalid_credentials', attempts_left: 2 },
      { type: 'login_failed', reason: 'invalid_credentials', attempts_left: 1 },
      { type: 'login_failed', reason: 'invalid_credentials', attempts_left: 0 },
      { type: 'bye', reason: 'too_many_attempts' },
    ]);
    // The SQL-looking name did nothing to the store.
    await f.json('shon');
  });

  it('refuses a malformed login as bad_request, costing an attempt', async () => {
    const f = await startServer(['shon']);
    const client = await f.connect();
    client.sendJson({ type: 'hello', proto: 1 });
    client.sendJson({ type: 'login', username: 'shon', password: 42 });
    expect(await client.waitForType('login_failed')).toEqual({ type: 'login_failed', reason: 'bad_request', attempts_left: 2 });
  });

  it('keeps the connection open through unknown types, non-JSON lines, and early chat', async () => {
    const f = await startServer(['shon']);
    const client = await f.connect();
    client.sendJson({ type: 'hello', proto: 1 });
    client.sendJson({ type: 'say', text: 'too early' });
    client.sendJson({ type: 'dance' });
    client.write('this is not json\n');
    client.write('[1,2]\n');
    client.sendJson({ type: 'login', username: 'shon', password: 'pw-shon', extra: 'ignored' });
    await client.waitForType('login_ok');
    const errors = client.messages.filter((m) => m.type === 'error').map((m) => m.code);
    expect(errors).toEqual(['not_logged_in', 'unknown_type', 'bad_request', 'bad_request']);
    for (const error of client.messages.filter((m) => m.type === 'error')) expect(typeof error.message).toBe('string');
  });

  it('requires hello first', async () => {
    const f = await startServer(['shon']);
    const client = await f.connect();
    client.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
    expect(await client.waitForType('error')).toMatchObject({ code: 'bad_request' });
    client.sendJson({ type: 'hello', proto: 1 });
    client.sendJson({ type: 'login', username: 'shon', password: 'pw-shon' });
    await client.waitForType('login_ok');
  });

  it('delivers messages with from, text and an ISO timestamp, acks ids, answers who, and ends with bye on quit', async () => {
    const f = await startServer(['shon', 'ron']);
    const shon = await f.json('shon');
    const ron = await f.json('ron');
    expect(await shon.waitForType('join')).toEqual({ type: 'join', user: 'ron' });
    ron.sendJson({ type: 'say', text: 'hi shon', id: 'm-1' });
    expect(await ron.waitForType('ack')).toEqual({ type: 'ack', id: 'm-1' });
    const message = await shon.waitForType('message');
    expect(message).toMatchObject({ from: 'ron', text: 'hi shon' });
    expect(new Date(String(message.ts)).toISOString()).toBe(message.ts);
    ron.sendJson({ type: 'who' });
    expect((await ron.waitForType('who')).users).toEqual(['shon', 'ron']);
    ron.sendJson({ type: 'quit' });
    expect(await ron.waitForType('bye')).toEqual({ type: 'bye', reason: 'quit' });
    await ron.waitForClose();
    expect(await shon.waitForType('leave')).toEqual({ type: 'leave', user: 'ron', reason: 'quit' });
    expect(ron.messages.some((m) => m.type === 'message')).toBe(false);
  });

  it('compares usernames case-insensitively and shows them as stored', async () => {
    const f = await startServer(['Shon', 'ron']);
    const ron = await f.json('ron');
    const client = await WireClient.loginJson(f.port, 'SHON', 'pw-Shon');
    expect(client.messages.find((m) => m.type === 'login_ok')?.username).toBe('Shon');
    expect(await ron.waitForType('join')).toEqual({ type: 'join', user: 'Shon' });
    client.close();
  });
});
