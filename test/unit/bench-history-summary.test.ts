import { describe, expect, it } from 'vitest';
import { inTurn } from '../../bench/common.js';
import { formatHistory, summarizeHistory, type HistoryStoreResult, type HistorySaturationRound, type StormRound } from '../../bench/history.js';

const sat = (deliveriesPerSecond: number, cpu: number, inStoreMs?: number): HistorySaturationRound => ({
  deliveriesPerSecond,
  cpuPerDeliveryUs: cpu,
  mainCpuPerDeliveryUs: cpu / 2,
  sent: 100,
  lost: 0,
  dropped: 0,
  t1: 0,
  ...(inStoreMs === undefined ? {} : { stored: 100, inStoreMs }),
});
const lat = (p99: number) => ({ samples: 100, p50: p99 / 2, p99, max: p99, lost: 0, cpuPerDeliveryUs: 1 });
const storm = (seconds: number, busy: number, sequentialMs: number[]): StormRound => ({ ready: 10, failed: 0, busy, seconds, loginMs: { samples: 10, p50: seconds * 500, p99: seconds * 990, max: seconds * 1000 }, sequentialMs, errors: [] });

function sqlite(): HistoryStoreResult {
  return {
    store: 'sqlite',
    // Round 2 ran on a busier machine: both sides slower, the pairing keeps the ratio.
    saturation: { clients: 1000, on: [sat(900, 0.11, 300), sat(450, 0.12, 900)], off: [sat(1000, 0.1), sat(500, 0.1)] },
    latency: [{ clients: 100, rate: 2000, on: [lat(12), lat(30)], off: [lat(10), lat(20)] }],
    storm: { clients: 1000, filledMessages: 100_000, on: [storm(10, 5, [10, 20])], off: [storm(8, 0, [5, 6])] },
    crash: [
      { acked: 400, stored: 380, lost: 20, lostMs: 100 },
      { acked: 400, stored: 390, lost: 10, lostMs: 50 },
    ],
    crashRate: 200,
    errors: [],
  };
}

describe('summarizeHistory (bench history scenario)', () => {
  it('pairs each round of history on with the same round of history off and judges the median ratio', () => {
    const rows = summarizeHistory([sqlite()]);
    const byName = (m: string) => rows.find((r) => r.measurement.startsWith(m))!;
    const rate = byName('saturation 1000 clients, deliveries/s');
    expect(rate.ratio.values).toEqual([0.9, 0.9]);
    expect(rate.verdict).toBe('met');
    expect(rate.on.median).toBe(675);
    const p99 = byName('2000 msg/s into 100, p99 ms');
    // Round 1: 1.2, round 2: 1.5; median 1.35 > 1.2.
    expect(p99.ratio.values).toEqual([1.2, 1.5]);
    expect(p99.verdict).toBe('not met');
    const inStore = byName('saturation: ms until every message');
    expect(inStore.on.values).toEqual([300, 900]);
    expect(inStore.verdict).toBe('met');
    expect(byName('1000 logins at once, server_busy').on.values).toEqual([5]);
    expect(byName('one login at a time, p99').on.values).toEqual([20]);
    const crash = byName('kill -9');
    expect(crash.on.max).toBe(100);
    expect(crash.verdict).toBe('met');
  });

  it('fails the in-store bound when a round never had every message stored, and the crash bound past a second', () => {
    const s = sqlite();
    s.saturation!.on[1] = { ...sat(450, 0.12), stored: 90, inStoreMs: NaN };
    s.crash.push({ acked: 1000, stored: 700, lost: 300, lostMs: 1500 });
    const rows = summarizeHistory([s]);
    expect(rows.find((r) => r.measurement.startsWith('saturation: ms'))!.verdict).toBe('not met');
    expect(rows.find((r) => r.measurement.startsWith('kill -9'))!.verdict).toBe('not met');
  });

  it('reports a skipped store in one row and measures nothing for it', () => {
    const skipped: HistoryStoreResult = { store: 'postgres', skipped: 'PostgreSQL at postgres://127.0.0.1:5432/postgres unreachable: ECONNREFUSED', latency: [], crash: [], crashRate: 200, errors: [] };
    const stores = [sqlite(), skipped];
    const summary = summarizeHistory(stores);
    expect(summary.every((r) => r.store === 'sqlite')).toBe(true);
    const table = formatHistory({ plan: {} as never, stores, summary }, (s) => String(s.median));
    expect(table.filter((row) => row[0] === 'skipped')).toEqual([['skipped', 'postgres', skipped.skipped, '', '', '', '']]);
  });
});

describe('inTurn', () => {
  it('measures every target once per round, reversing the order every other round', async () => {
    const order: string[] = [];
    const results = await inTurn(['on', 'off'], 3, async (target, round) => {
      order.push(`${round}:${target}`);
      return `${target}${round}`;
    });
    expect(order).toEqual(['0:on', '0:off', '1:off', '1:on', '2:on', '2:off']);
    expect(results.get('on')).toEqual(['on0', 'on1', 'on2']);
    expect(results.get('off')).toEqual(['off0', 'off1', 'off2']);
  });
});
