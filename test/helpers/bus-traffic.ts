/**
 * Traffic through buses for the bus tests: instances that publish numbered
 * room messages and record what they receive, and the checks that prove
 * every message arrived exactly once, in its sender's order.
 */
import { expect } from 'vitest';
import type { Bus, BusLog } from '../../src/bus/bus.js';

export interface LoggedLine {
  event: string;
  fields: Readonly<Record<string, string | number | undefined>>;
}

export function captureLog(): BusLog & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    info: (event, fields = {}) => lines.push({ event, fields }),
    error: (event, fields = {}) => lines.push({ event, fields }),
  };
}

/** One instance in a test: its bus, what it sent, what it received per origin. */
export class TrafficNode {
  sent = 0;
  refused = 0;
  /** The longest a `publish` call took, in ms. */
  slowestPublishMs = 0;
  readonly received = new Map<string, number[]>();
  misattributed = 0;

  constructor(readonly bus: Bus) {
    bus.subscribe((message, origin) => {
      if (message.type !== 'room' || message.event.type !== 'message') return;
      const [from, n] = message.event.text.split(':');
      // What the sender wrote into the text must match who the bus says sent it.
      if (from !== origin) this.misattributed += 1;
      let list = this.received.get(origin);
      if (list === undefined) this.received.set(origin, (list = []));
      list.push(Number(n));
    });
  }

  /** Publishes the next numbered message; numbers count accepted messages only. */
  publishNext(): void {
    const started = performance.now();
    const accepted = this.bus.publish({
      type: 'room',
      event: { type: 'message', id: `${this.bus.instanceId}-${this.sent + 1}`, from: `user-${this.bus.instanceId}`, text: `${this.bus.instanceId}:${this.sent + 1}`, ts: new Date().toISOString() },
    });
    this.slowestPublishMs = Math.max(this.slowestPublishMs, performance.now() - started);
    if (accepted) this.sent += 1;
    else this.refused += 1;
  }

  receivedFrom(node: TrafficNode): number[] {
    return this.received.get(node.bus.instanceId) ?? [];
  }
}

/** Every node got 1..sent of every other node, once each and in order, and nothing of its own. */
export function expectExactlyOnceInOrder(nodes: readonly TrafficNode[]): void {
  for (const receiver of nodes) {
    expect(receiver.received.has(receiver.bus.instanceId)).toBe(false);
    expect(receiver.misattributed).toBe(0);
    for (const sender of nodes) {
      if (sender === receiver) continue;
      const got = receiver.receivedFrom(sender);
      expect(got.length, `${receiver.bus.instanceId} from ${sender.bus.instanceId}`).toBe(sender.sent);
      // 1, 2, 3, ... sent: nothing lost, nothing twice, nothing out of order.
      const firstWrong = got.findIndex((n, i) => n !== i + 1);
      expect(firstWrong, `${receiver.bus.instanceId} from ${sender.bus.instanceId}: first out of place at index ${firstWrong}`).toBe(-1);
    }
  }
}

/**
 * After Redis restarted without its data: every node got, of every other
 * node, its messages in order and never twice; everything published after
 * `sentAtStop` (during and after the outage); and of what was published
 * before, it misses at most the messages that Redis had taken but this node
 * had not read yet when Redis died, each counted in `lost`.
 */
export function expectNoneLostSince(nodes: readonly TrafficNode[], sentAtStop: readonly number[]): void {
  for (const receiver of nodes) {
    expect(receiver.misattributed).toBe(0);
    let missing = 0;
    for (const [i, sender] of nodes.entries()) {
      if (sender === receiver) continue;
      const got = receiver.receivedFrom(sender);
      const outOfOrder = got.findIndex((n, at) => at > 0 && n <= got[at - 1]!);
      expect(outOfOrder, `${receiver.bus.instanceId} from ${sender.bus.instanceId}: out of order or twice at index ${outOfOrder}`).toBe(-1);
      expect(got.filter((n) => n > sentAtStop[i]!).length, `${receiver.bus.instanceId} from ${sender.bus.instanceId} after the stop`).toBe(sender.sent - sentAtStop[i]!);
      missing += sender.sent - got.length;
    }
    expect(receiver.bus.stats().lost).toBe(missing);
  }
}

/** Every node has the last message of every other node. */
export function lastDelivered(nodes: readonly TrafficNode[]): boolean {
  return nodes.every((receiver) => nodes.every((sender) => sender === receiver || receiver.receivedFrom(sender).at(-1) === sender.sent));
}

export function allDelivered(nodes: readonly TrafficNode[]): boolean {
  return nodes.every((receiver) => nodes.every((sender) => sender === receiver || receiver.receivedFrom(sender).length >= sender.sent));
}

/** Resolves once `condition` holds (checked every 20 ms); rejects with `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Publishes from every node every `everyMs` until stopped, and measures how
 * late the timer fired at worst: a bus that stalls the event loop shows there.
 */
export function startTraffic(nodes: readonly TrafficNode[], everyMs = 5): { stop(): void; worstLagMs(): number } {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - everyMs);
    last = now;
    for (const node of nodes) node.publishNext();
  }, everyMs);
  return { stop: () => clearInterval(timer), worstLagMs: () => worst };
}
