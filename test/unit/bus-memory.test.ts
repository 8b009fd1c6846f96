import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { MemoryBus, MemoryBusNetwork } from '../../src/bus/memory-bus.js';
import { allDelivered, captureLog, expectExactlyOnceInOrder, TrafficNode, waitUntil } from '../helpers/bus-traffic.js';

async function nodesOn(network: MemoryBusNetwork, ids: string[], maxBufferedBytes?: number) {
  const nodes = ids.map((id) => new TrafficNode(new MemoryBus(network, id, { maxBufferedBytes, log: captureLog() })));
  await Promise.all(nodes.map((node) => node.bus.start()));
  return nodes;
}

describe('MemoryBus', () => {
  it('hands every message to every other instance once, in order, and never back to its sender', async () => {
    const nodes = await nodesOn(new MemoryBusNetwork(), ['a', 'b', 'c']);
    for (let i = 0; i < 100; i++) for (const node of nodes) node.publishNext();
    await waitUntil(() => allDelivered(nodes), 2000, 'delivery');
    expectExactlyOnceInOrder(nodes);
    expect(nodes[0]!.bus.stats()).toMatchObject({ published: 100, delivered: 200, buffered: 0, connected: true });
  });

  it('never calls a subscriber from within publish', async () => {
    const [a, b] = await nodesOn(new MemoryBusNetwork(), ['a', 'b']);
    a!.publishNext();
    expect(b!.receivedFrom(a!)).toEqual([]);
    await waitUntil(() => b!.receivedFrom(a!).length === 1, 2000, 'delivery');
  });

  it('delivers an addressed message only to its instance', async () => {
    const network = new MemoryBusNetwork();
    const [a, b, c] = await nodesOn(network, ['a', 'b', 'c']);
    const got: Record<string, BusMessage[]> = { b: [], c: [] };
    b!.bus.subscribe((m) => got.b!.push(m));
    c!.bus.subscribe((m) => got.c!.push(m));
    const receipt: BusMessage = { type: 'dm_receipt', id: 'x', to: 'ron', delivered: true };
    a!.bus.publish(receipt, { to: 'c' });
    a!.publishNext();
    await waitUntil(() => got.b!.length === 1 && got.c!.length === 2, 2000, 'delivery');
    expect(got.c![0]).toEqual(receipt);
    expect(got.b![0]!.type).toBe('room');
  });

  it('keeps messages while the network is down and sends them, in order, when it is back', async () => {
    const network = new MemoryBusNetwork();
    const nodes = await nodesOn(network, ['a', 'b']);
    network.setOnline(false);
    for (let i = 0; i < 50; i++) for (const node of nodes) node.publishNext();
    await Promise.resolve();
    expect(nodes[0]!.bus.stats()).toMatchObject({ buffered: 50, connected: false });
    expect(nodes[1]!.receivedFrom(nodes[0]!)).toEqual([]);
    network.setOnline(true);
    await waitUntil(() => allDelivered(nodes), 2000, 'delivery');
    expectExactlyOnceInOrder(nodes);
  });

  it('refuses past its bound while the network is down and counts it', async () => {
    const network = new MemoryBusNetwork();
    const [a, b] = await nodesOn(network, ['a', 'b'], 2000);
    network.setOnline(false);
    for (let i = 0; i < 100; i++) a!.publishNext();
    expect(a!.refused).toBeGreaterThan(0);
    expect(a!.bus.stats().dropped).toBe(a!.refused);
    network.setOnline(true);
    await waitUntil(() => b!.receivedFrom(a!).length === a!.sent, 2000, 'delivery');
    expectExactlyOnceInOrder([a!, b!]);
    expect(b!.bus.stats().lost).toBe(0);
  });

  it('after close publishes nothing and receives nothing', async () => {
    const [a, b] = await nodesOn(new MemoryBusNetwork(), ['a', 'b']);
    await b!.bus.close();
    a!.publishNext();
    expect(b!.bus.publish({ type: 'room', event: { type: 'join', user: 'x' } })).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(b!.receivedFrom(a!)).toEqual([]);
    await b!.bus.close();
  });
});
