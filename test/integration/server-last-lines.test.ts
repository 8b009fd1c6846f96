import { describe, expect, it } from 'vitest';
import { auditRows, eventually, queryDb } from '../helpers/db-peek.js';
import { runAdmin } from '../helpers/chat-server-process.js';
import { startServer } from '../helpers/server-fixture.js';
import { WireClient } from '../helpers/wire-client.js';

/** A scripted post, as `printf 'u84\nSecret\nhi\n' | nc -N host port` sends it: everything at once, then FIN. */
async function postAndHalfClose(port: number, bytes: string): Promise<WireClient> {
  const client = await WireClient.connect(port);
  client.socket.end(bytes);
  return client;
}

describe('lines sent just before the client closes', () => {
  it('text mode: every piped line is delivered in order, then the session ends as disconnected and is audited', async () => {
    const f = await startServer(['poster', 'reader']);
    const reader = await f.json('reader');
    const rounds = 10;
    for (let i = 0; i < rounds; i += 1) {
      const poster = await postAndHalfClose(f.port, `poster\npw-poster\nhi ${i}\nsecond ${i}\n`);
      const leave = await reader.waitForJson((m) => m.type === 'leave' && m.user === 'poster', 5000, i);
      expect(leave.reason).toBe('disconnected');
      // The poster still reads after its FIN: it got its welcome before the server closed.
      await poster.waitForClose();
      expect(poster.text).toContain('* Welcome, poster!');
    }
    const said = reader.messages.filter((m) => m.type === 'message').map((m) => m.text);
    expect(said).toEqual(Array.from({ length: rounds }, (_, i) => [`hi ${i}`, `second ${i}`]).flat());
    const ends = await eventually(() => {
      const rows = auditRows(f.dbFile, 'session_end').filter((r) => r.username === 'poster');
      return rows.length === rounds ? rows : undefined;
    }, 5000, 'every session end audited');
    expect(ends.every((r) => r.reason === 'disconnected')).toBe(true);
    expect(auditRows(f.dbFile, 'login').filter((r) => r.username === 'poster' && r.outcome === 'ok')).toHaveLength(rounds);
    await eventually(() => queryDb(f.dbFile, "select * from sessions where username = 'poster'").length === 0, 5000, 'the session row released');
  });

  it('JSON mode: a hello, login and say sent with FIN are all handled, and the goodbye is audited', async () => {
    const f = await startServer(['bot', 'reader']);
    const reader = await f.json('reader');
    const rounds = 10;
    for (let i = 0; i < rounds; i += 1) {
      const lines = [
        { type: 'hello', proto: 1 },
        { type: 'login', username: 'bot', password: 'pw-bot' },
        { type: 'say', text: `build ${i} finished`, id: `m${i}` },
      ];
      const bot = await postAndHalfClose(f.port, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      await reader.waitForJson((m) => m.type === 'leave' && m.user === 'bot', 5000, i);
      await bot.waitForClose();
      // The replay of the rounds before comes between login_ok and history_end.
      expect(bot.messages.filter((m) => m.history !== true).map((m) => m.type)).toEqual(['hello', 'login_ok', 'history_end', 'ack']);
      expect(bot.messages.filter((m) => m.history === true)).toHaveLength(i);
    }
    expect(reader.messages.filter((m) => m.type === 'message').map((m) => m.text)).toEqual(Array.from({ length: rounds }, (_, i) => `build ${i} finished`));
    await eventually(() => auditRows(f.dbFile, 'session_end').filter((r) => r.username === 'bot').length === rounds, 5000, 'every session end audited');
  });

  it('a login whose connection was reset while the password was checked gives its session back and audits its end', async () => {
    // Cost 10 makes the check take tens of milliseconds, so the reset lands while it runs.
    const f = await startServer([]);
    const added = await runAdmin(['user', 'add', 'quick', '--password-stdin', '--db', f.dbFile, '--bcrypt-cost', '10'], { input: 'pw-quick\n' });
    expect(added.code).toBe(0);
    for (let i = 0; i < 5; i += 1) {
      const client = await WireClient.connect(f.port);
      client.write('quick\n');
      await client.waitForText('Password: ');
      client.write('pw-quick\n');
      client.socket.resetAndDestroy();
    }
    await eventually(() => {
      const oks = auditRows(f.dbFile, 'login').filter((r) => r.outcome === 'ok').length;
      const ends = auditRows(f.dbFile, 'session_end').length;
      return oks > 0 && oks === ends && queryDb(f.dbFile, 'select * from sessions').length === 0 ? true : undefined;
    }, 5000, 'every login ok matched by a session end, no row left');
    // And the user is not stranded: a normal login works.
    const again = await f.json('quick');
    expect(again.messages.some((m) => m.type === 'login_ok')).toBe(true);
  });
});
