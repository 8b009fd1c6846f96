import { describe, expect, it } from 'vitest';
import { ReplyQueue } from '../../src/client/reply-queue.js';

describe('ReplyQueue', () => {
  it('settles a say by its ack, whatever the order of acks', () => {
    const q = new ReplyQueue();
    const a = q.say('a');
    const b = q.say('b');
    expect(a.id).not.toBe(b.id);
    expect(q.settle({ type: 'ack', id: b.id })).toEqual({ request: b, outcome: 'done' });
    expect(q.pendingSays).toEqual([a]);
    expect(q.settle({ type: 'ack', id: a.id })).toEqual({ request: a, outcome: 'done' });
    expect(q.pendingSays).toEqual([]);
  });

  it('gives an error (which carries no id) to the oldest request still waiting', () => {
    const q = new ReplyQueue();
    const a = q.say('a');
    const b = q.say('b');
    expect(q.settle({ type: 'ack', id: a.id })?.outcome).toBe('done');
    expect(q.settle({ type: 'error', code: 'rate_limited', message: 'Slow down: rate limit reached.' })).toEqual({
      request: b,
      outcome: 'refused',
      reason: 'Slow down: rate limit reached.',
      code: 'rate_limited',
    });
  });

  it('answers a direct message like a say: ack by id, or the error that names why (not_online)', () => {
    const q = new ReplyQueue();
    const dm = q.say('psst', 'ron');
    expect(q.pendingSays).toEqual([{ kind: 'say', id: dm.id, text: 'psst', to: 'ron' }]);
    expect(q.settle({ type: 'error', code: 'not_online', message: 'ron is not online.' })).toEqual({ request: dm, outcome: 'refused', reason: 'ron is not online.', code: 'not_online' });
  });

  it('counts a who among the waiting requests, so a refused who does not take a line with it', () => {
    const q = new ReplyQueue();
    q.who();
    const a = q.say('a');
    expect(q.settle({ type: 'error', code: 'rate_limited', message: 'Slow down.' })?.request).toEqual({ kind: 'who' });
    expect(q.pendingSays).toEqual([a]);
    q.who();
    expect(q.settle({ type: 'who', users: [] })?.request).toEqual({ kind: 'who' });
    expect(q.pendingSays).toEqual([a]);
  });

  it('ignores messages that answer nothing of ours, and sanitises the reason', () => {
    const q = new ReplyQueue();
    expect(q.settle({ type: 'error', code: 'bad_request', message: 'x' })).toBeUndefined();
    expect(q.settle({ type: 'ack', id: '99' })).toBeUndefined();
    q.say('a');
    expect(q.settle({ type: 'error', code: 'bad_request', message: 'bad\x1b[31m red' })).toMatchObject({ reason: 'bad red' });
  });

  it('cancels a line that could not be sent, and drains what the end left unacknowledged', () => {
    const q = new ReplyQueue();
    const a = q.say('a');
    const b = q.say('b');
    q.cancel(a.id);
    expect(q.drainSays()).toEqual([b]);
    expect(q.pendingSays).toEqual([]);
  });
});
