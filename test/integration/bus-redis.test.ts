import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { BusError } from '../../src/bus/bus-error.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import { FlushScheduler } from '../../src/server/outbox.js';
import { BusRoom } from '../../src/server/bus-room.js';
import { LocalRoom } from '../../src/server/room.js';
import { closedPort } from '../helpers/chat-server-process.js';
import { FakeMember } from '../helpers/fake-member.js';
import { allDelivered, captureLog, expectExactlyOnceInOrder, startTraffic, TrafficNode, waitUntil } from '../helpers/bus-traffic.js';
import { redisAvailable, TEST_REDIS_URL } from '../helpers/services.js';

const haveRedis = await redisAvailable();

describe.skipIf(!haveRedis)('RedisBus on the shared Redis', () => {
  const prefix = `chat-test:${randomUUID()}:`;
  const admin = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  const buses: RedisBus[] = [];

  const makeBus = (instanceId: string, log = captureLog()): RedisBus => {
    const bus = new RedisBus({ url: TEST_REDIS_URL, instanceId, keyPrefix: prefix, log });
    buses.push(bus);
    return bus;
  };

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
  });

  afterAll(async () => {
    // Every key this file made, and nothing else.
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    expect(await admin.keys(`${prefix}*`)).toEqual([]);
    admin.disconnect();
  });

  it('hands every message to every other instance exactly once, in each sender\'s order, never to its sender', async () => {
    const nodes = ['a', 'b', 'c'].map((id) => new TrafficNode(makeBus(id)));
    await Promise.all(nodes.map((node) => node.bus.start()));
    const traffic = startTraffic(nodes, 2);
    await waitUntil(() => nodes.every((node) => node.sent >= 300), 10_000, '300 messages from each');
    traffic.stop();
    await waitUntil(() => allDelivered(nodes), 10_000, 'every message delivered');
    expectExactlyOnceInOrder(nodes);
    for (const node of nodes) {
      expect(node.bus.stats()).toMatchObject({ published: node.sent, delivered: 2 * node.sent, lost: 0, duplicates: 0, dropped: 0, malformed: 0, connected: true });
    }
  });

  it('delivers a message addressed to one instance there only, with its sender as origin', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((id) => makeBus(id));
    const got = { b: [] as Array<[BusMessage, string]>, c: [] as Array<[BusMessage, string]> };
    b!.subscribe((message, origin) => got.b.push([message, origin]));
    c!.subscribe((message, origin) => got.c.push([message, origin]));
    await Promise.all([a!.start(), b!.start(), c!.start()]);
    const end: BusMessage = { type: 'end_session', username: 'ron', sessionId: 's-1', kind: 'kicked', note: 'take a break' };
    a!.publish(end, { to: 'b' });
    // A broadcast after it: once c has that, c has had its chance to see the addressed one.
    const marker: BusMessage = { type: 'room', event: { type: 'join', user: 'shon' } };
    a!.publish(marker);
    await waitUntil(() => got.b.length === 2 && got.c.length === 1, 5000, 'the addressed message and the marker');
    expect(got.b).toEqual([
      [end, 'a'],
      [marker, 'a'],
    ]);
    expect(got.c).toEqual([[marker, 'a']]);
  });

  it('skips and counts an entry that is not a bus message, and goes on', async () => {
    const log = captureLog();
    const reader = new TrafficNode(makeBus('reader', log));
    const writer = new TrafficNode(makeBus('writer'));
    await Promise.all([reader.bus.start(), writer.bus.start()]);
    await admin.xadd(`${prefix}bus`, '*', 'o', 'stranger', 'i', 'x', 's', '1', 't', '', 'm', '{"type":"room","event":{"type":"explode"}}');
    await admin.xadd(`${prefix}bus`, '*', 'junk', 'yes');
    writer.publishNext();
    await waitUntil(() => reader.receivedFrom(writer).length === 1, 5000, 'the message after the junk');
    expect(reader.bus.stats()).toMatchObject({ malformed: 2, delivered: 1 });
    expect(log.lines.filter((line) => line.event === 'bus_malformed')).toHaveLength(2);
  });

  it('BusRoom over Redis: a member on one instance hears one on another, with the id given where it was said', async () => {
    const scheduler = new FlushScheduler();
    const [a, b] = ['a', 'b'].map((id) => makeBus(id));
    await Promise.all([a!.start(), b!.start()]);
    const roomA = new BusRoom(new LocalRoom(scheduler), a!, () => 'id-from-a');
    const roomB = new BusRoom(new LocalRoom(scheduler), b!, () => 'id-from-b');
    const shon = new FakeMember('shon', 'json', scheduler);
    const ron = new FakeMember('ron', 'text', scheduler);
    roomA.join(shon);
    roomB.join(ron);
    roomA.publish({ type: 'join', user: 'shon' }, shon);
    roomA.publish({ type: 'message', from: 'shon', text: 'across', ts: '2026-12-01T10:00:00.000Z' }, shon);
    roomB.publish({ type: 'message', from: 'ron', text: 'and back', ts: '2026-12-01T10:00:01.000Z' }, ron);
    await waitUntil(() => ron.lines.includes('shon: across') && shon.lines.length === 1, 5000, 'both messages');
    expect(ron.lines).toEqual(['* shon has joined the chat.', 'shon: across']);
    expect(shon.lines).toEqual(['{"type":"message","from":"ron","text":"and back","ts":"2026-12-01T10:00:01.000Z","id":"id-from-b"}']);
    expect(roomB.usernames()).toEqual(['ron', 'shon']);
  });

  it('sends what is buffered before close returns', async () => {
    const reader = new TrafficNode(makeBus('reader'));
    const writer = new TrafficNode(makeBus('writer'));
    await Promise.all([reader.bus.start(), writer.bus.start()]);
    for (let i = 0; i < 1000; i++) writer.publishNext();
    await writer.bus.close();
    expect(writer.bus.stats().buffered).toBe(0);
    expect(writer.bus.publish({ type: 'room', event: { type: 'join', user: 'late' } })).toBe(false);
    await waitUntil(() => reader.receivedFrom(writer).length === 1000, 5000, 'all 1000');
    expectExactlyOnceInOrder([reader, writer]);
  });
});

describe('RedisBus without a Redis', () => {
  it('refuses to start with bus_unreachable, naming the address without its password', async () => {
    const port = await closedPort();
    const bus = new RedisBus({ url: `redis://:hunter2@127.0.0.1:${port}`, instanceId: 'x', startTimeoutMs: 1000 });
    const started = Date.now();
    const error = await bus.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BusError);
    expect((error as BusError).code).toBe('bus_unreachable');
    expect((error as BusError).message).toContain(`127.0.0.1:${port}`);
    expect((error as BusError).message).not.toContain('hunter2');
    expect(Date.now() - started).toBeLessThan(3000);
    await bus.close();
  });
});
