import { describe, expect, it } from 'vitest';
import { completeUsername, OnlineUsers } from '../../src/client/complete.js';
import { parseSlashMsg, renderHistoryHeader, renderOwnPrivate, renderServerMessage, type RenderContext } from '../../src/client/render.js';
import type { ServerMessage } from '../../src/protocol/messages.js';

const now = new Date(2025, 0, 2, 9, 5, 0);
const plain: RenderContext = { color: false, now };
const texts = (message: ServerMessage, context = plain) => renderServerMessage(message, context).map((l) => l.text);

describe('chat-client: replayed messages, private messages, /msg, completion', () => {
  it('shows a replayed message at its own time, with the date when not today, dim and apart from live ones', () => {
    const today = new Date(2025, 0, 2, 8, 1).toISOString();
    const before = new Date(2024, 11, 30, 23, 59).toISOString();
    expect(texts({ type: 'message', from: 'ron', text: 'hi', ts: today, id: 'a', history: true })).toEqual(['08:01 ron: hi']);
    expect(texts({ type: 'message', from: 'ron', text: 'old', ts: before, id: 'b', history: true })).toEqual(['2024-12-30 23:59 ron: old']);
    const dim = renderServerMessage({ type: 'message', from: 'ron', text: 'hi', ts: today, id: 'a', history: true }, { color: true, now })[0]!.text;
    expect(dim.startsWith('\x1b[2m')).toBe(true);
    expect(renderHistoryHeader(plain).text).toBe('— recent messages —');
    expect(texts({ type: 'history_end', count: 2 })).toEqual(['— live —']);
    expect(texts({ type: 'history_end', count: 0 })).toEqual([]);
  });

  it('shows a private message distinctly, sanitised, and our own as [private to NAME]', () => {
    const ts = new Date(2025, 0, 2, 9, 0).toISOString();
    expect(texts({ type: 'dm', from: 'ron', text: 'psst\x1b[2J', ts, id: 'x' })).toEqual(['09:00 [private] ron: psst']);
    expect(renderOwnPrivate('shon', 'ron', 'hi', { kind: 'sent' }, plain).text).toBe('09:05 [private to ron] shon: hi');
    expect(renderOwnPrivate('shon', 'ron', 'hi', { kind: 'pending' }, plain).text).toBe('09:05 [private to ron] shon: hi (sending...)');
  });

  it('parses /msg like c.msg: the name, then the text as typed', () => {
    expect(parseSlashMsg('/msg ron hello there')).toEqual({ to: 'ron', text: 'hello there' });
    expect(parseSlashMsg('/MSG ron  two spaces')).toEqual({ to: 'ron', text: 'two spaces' });
    expect(parseSlashMsg('/msg ron')).toEqual({ to: 'ron', text: '' });
    expect(parseSlashMsg('/msg')).toEqual({ to: '', text: '' });
    expect(parseSlashMsg('/msgron hi')).toBeUndefined();
    expect(parseSlashMsg('hello /msg ron')).toBeUndefined();
  });

  it('completes the word being typed from the names online, any case; after /msg or c.msg with the space that follows', () => {
    const online = ['ron', 'Rona', 'itay'];
    expect(completeUsername('/msg it', online)).toEqual([['itay '], 'it']);
    expect(completeUsername('c.msg R', online)).toEqual([['Rona', 'ron'], 'R']);
    expect(completeUsername('hello i', online)).toEqual([['itay'], 'i']);
    expect(completeUsername('hello ', online)).toEqual([[], '']);
    expect(completeUsername('zed', online)).toEqual([[], 'zed']);
  });

  it('keeps who is online from login_ok, joins, leaves and who replies', () => {
    const users = new OnlineUsers();
    users.reset(['ron']);
    users.joined('Itay');
    users.left('RON');
    expect(users.list()).toEqual(['Itay']);
    users.reset(['a', 'b']);
    expect(users.list()).toEqual(['a', 'b']);
  });
});
