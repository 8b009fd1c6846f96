import { describe, expect, it } from 'vitest';
import { configLabel, summarizeCluster, type ConfigRound } from '../../bench/cluster.js';

function round(instances: number, haproxy: boolean, o: { rate: number; p99: number; satCpu: number; redisMs: number; lost?: number }): ConfigRound {
  return {
    config: configLabel({ instances, haproxy }),
    instances,
    haproxy,
    ready: 10,
    loginSeconds: 1,
    saturation: { deliveriesPerSecond: o.rate, sent: 100, lost: o.lost ?? 0, dropped: 0, drainMs: 5, cpu: { instancesMs: 90, redisMs: o.redisMs, haproxyMs: 0 }, cpuPerDeliveryUs: o.satCpu },
    latency: { samples: 50, p50: o.p99 / 2, p99: o.p99, max: o.p99, sent: 10, lost: 0, deliveries: 1000, cpu: { instancesMs: 8, redisMs: 2, haproxyMs: 0 }, cpuPerDeliveryUs: 10 },
  };
}

describe('summarizeCluster (bench --cluster)', () => {
  it('pairs each round of a configuration with the same round of the single instance', () => {
    const rounds = [
      round(1, false, { rate: 1000, p99: 10, satCpu: 2, redisMs: 10 }),
      round(3, false, { rate: 500, p99: 30, satCpu: 4, redisMs: 10 }),
      round(1, false, { rate: 2000, p99: 20, satCpu: 2, redisMs: 10 }),
      round(3, false, { rate: 2000, p99: 20, satCpu: 4, redisMs: 10, lost: 3 }),
    ];
    const [one, three] = summarizeCluster(rounds);
    expect(one!.config).toBe('1 instance');
    expect(one!.p99VsOne.values).toEqual([1, 1]);
    expect(three!.config).toBe('3 instances');
    // Round 1: 30/10 = 3; round 2: 20/20 = 1. Paired, not median over median (which would be 25/15).
    expect(three!.p99VsOne.values).toEqual([3, 1]);
    expect(three!.p99VsOne.median).toBe(2);
    expect(three!.rateVsOne.values).toEqual([0.5, 1]);
    expect(three!.lost).toBe(3);
    expect(three!.rounds).toBe(2);
  });

  it('splits the CPU per delivery into the Redis part by its share of the CPU time', () => {
    const [only] = summarizeCluster([round(1, false, { rate: 1000, p99: 10, satCpu: 4, redisMs: 10 })]);
    // 10 ms of Redis out of 100 ms in all: a tenth of 4 µs.
    expect(only!.saturationRedisUs.median).toBeCloseTo(0.4);
    // Paced: 2 ms of Redis over 1000 deliveries = 2 µs each.
    expect(only!.latencyRedisUs.median).toBeCloseTo(2);
  });

  it('labels the configurations as the report shows them', () => {
    expect(configLabel({ instances: 2, haproxy: false })).toBe('2 instances');
    expect(configLabel({ instances: 3, haproxy: true })).toBe('3 via HAProxy');
  });
});
